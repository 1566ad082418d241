//! GitHub's expression language, as far as `template-injection` needs it: the tokens, a parser
//! (`||`, `&&`, comparisons, `!`, calls, contexts), which contexts can flow into the expanded
//! text, and where each `${{ … }}` is in a script.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Num,
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Star,
}

pub(super) fn tokenize(s: &str) -> Option<Vec<(Tok, usize, usize)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' => {
                i += 1;
                let mut v = String::new();
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let ch = s[i..].chars().next()?;
                            v.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Str(v)
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Tok::Dot
            }
            b'*' => {
                i += 1;
                Tok::Star
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                i += 2;
                Tok::Op("||")
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                i += 2;
                Tok::Op("&&")
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("==")
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("!=")
            }
            b'<' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("<=")
            }
            b'>' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(">=")
            }
            b'<' => {
                i += 1;
                Tok::Op("<")
            }
            b'>' => {
                i += 1;
                Tok::Op(">")
            }
            b'!' => {
                i += 1;
                Tok::Op("!")
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'.' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Tok::Num
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    i += 1;
                }
                Tok::Ident(s[start..i].to_string())
            }
            _ => return None,
        };
        out.push((tok, start, i));
    }
    Some(out)
}

/// A parsed expression, keeping what the dataflow needs.
#[derive(Debug, Clone)]
pub(super) enum Expr {
    Other,
    /// A context: its normalised pattern (`github.event.issue.title`, indices as `*`), its
    /// byte range in the expression text, and whether it starts with a call (`fromJSON(x).y`).
    Context {
        pattern: String,
        start: usize,
        end: usize,
        call_led: bool,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    And(#[allow(dead_code)] Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

pub(super) struct Parser<'a> {
    pub(super) toks: &'a [(Tok, usize, usize)],
    pub(super) pos: usize,
    pub(super) depth: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    pub(super) fn next(&mut self) -> Option<(Tok, usize, usize)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    pub(super) fn or(&mut self) -> Option<Expr> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Op("||")) {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Some(l)
    }
    pub(super) fn and(&mut self) -> Option<Expr> {
        let mut l = self.cmp()?;
        while self.peek() == Some(&Tok::Op("&&")) {
            self.pos += 1;
            let r = self.cmp()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Some(l)
    }
    pub(super) fn cmp(&mut self) -> Option<Expr> {
        let l = self.unary()?;
        let mut any = false;
        while matches!(
            self.peek(),
            Some(Tok::Op("==" | "!=" | "<" | "<=" | ">" | ">="))
        ) {
            self.pos += 1;
            self.unary()?;
            any = true;
        }
        Some(if any { Expr::Other } else { l })
    }
    pub(super) fn unary(&mut self) -> Option<Expr> {
        if self.peek() == Some(&Tok::Op("!")) {
            self.pos += 1;
            self.unary()?;
            return Some(Expr::Other);
        }
        self.primary()
    }
    pub(super) fn primary(&mut self) -> Option<Expr> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let (tok, start, end) = self.next()?;
        let e = match tok {
            Tok::Str(_) | Tok::Num => Expr::Other,
            Tok::LParen => {
                let inner = self.or()?;
                if self.next()?.0 != Tok::RParen {
                    return None;
                }
                inner
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            args.push(self.or()?);
                            match self.next()?.0 {
                                Tok::Comma => continue,
                                Tok::RParen => break,
                                _ => return None,
                            }
                        }
                    } else {
                        self.pos += 1;
                    }
                    if matches!(self.peek(), Some(Tok::Dot | Tok::LBracket)) {
                        let (pattern, end) = self.path(String::new(), end)?;
                        Expr::Context {
                            pattern,
                            start,
                            end,
                            call_led: true,
                        }
                    } else {
                        Expr::Call {
                            name: name.to_ascii_lowercase(),
                            args,
                        }
                    }
                } else if matches!(name.as_str(), "true" | "false" | "null") {
                    Expr::Other
                } else {
                    let (pattern, end) = self.path(name.to_ascii_lowercase(), end)?;
                    Expr::Context {
                        pattern,
                        start,
                        end,
                        call_led: false,
                    }
                }
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(e)
    }
    /// `.ident`, `.*`, `[expr]` suffixes.
    pub(super) fn path(&mut self, mut pattern: String, mut end: usize) -> Option<(String, usize)> {
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    let (t, _, e) = self.next()?;
                    let part = match t {
                        Tok::Ident(p) => p.to_ascii_lowercase(),
                        Tok::Star => "*".into(),
                        _ => return None,
                    };
                    pattern.push('.');
                    pattern.push_str(&part);
                    end = e;
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let part = match self.peek() {
                        Some(Tok::Str(s))
                            if self.toks.get(self.pos + 1).map(|t| &t.0)
                                == Some(&Tok::RBracket) =>
                        {
                            let s = s.to_ascii_lowercase();
                            self.pos += 1;
                            s
                        }
                        Some(Tok::Star) => {
                            self.pos += 1;
                            "*".into()
                        }
                        _ => {
                            self.or()?;
                            "*".into()
                        }
                    };
                    let (t, _, e) = self.next()?;
                    if t != Tok::RBracket {
                        return None;
                    }
                    pattern.push('.');
                    pattern.push_str(&part);
                    end = e;
                }
                _ => return Some((pattern, end)),
            }
        }
    }
}

/// The contexts whose values can flow into the expansion.
pub(super) fn dataflow(e: &Expr, out: &mut Vec<(String, usize, usize, bool)>) {
    match e {
        Expr::Context {
            pattern,
            start,
            end,
            call_led,
        } => out.push((pattern.clone(), *start, *end, *call_led)),
        Expr::And(_, r) => dataflow(r, out),
        Expr::Or(l, r) => {
            dataflow(l, out);
            dataflow(r, out);
        }
        Expr::Call { name, args } => match name.as_str() {
            "tojson" | "fromjson" | "format" | "join" => args.iter().for_each(|a| dataflow(a, out)),
            "case" => {
                for (i, a) in args.iter().enumerate() {
                    if i % 2 == 1 || i + 1 == args.len() {
                        dataflow(a, out);
                    }
                }
            }
            _ => {}
        },
        Expr::Other => {}
    }
}

pub(super) fn parse(expr: &str) -> Option<Vec<(String, usize, usize, bool)>> {
    let toks = tokenize(expr)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != toks.len() {
        return None;
    }
    let mut out = Vec::new();
    dataflow(&e, &mut out);
    Some(out)
}

/// `${{ … }}` expressions of a decoded script: (offset of `${{`, body).
pub(super) fn expressions(script: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = script[from..].find("${{") {
        let open = from + open;
        let body_start = open + 3;
        let b = script.as_bytes();
        let mut i = body_start;
        let mut in_str = false;
        let mut close = None;
        while i + 1 < b.len() {
            if b[i] == b'\'' {
                in_str = !in_str;
            } else if !in_str && b[i] == b'}' && b[i + 1] == b'}' {
                close = Some(i);
                break;
            }
            i += 1;
        }
        let Some(close) = close else { break };
        out.push((open, &script[body_start..close]));
        from = close + 2;
    }
    out
}
