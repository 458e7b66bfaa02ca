//! A subcommand's arguments: `--flag value`, `--flag=value`, `-f value`, `-` for standard
//! input, and `--` before operands that start with a dash.

use crate::Failure;

/// One argument.
#[derive(Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    /// An option, such as `--status` (its value, if it takes one, comes from [`Args::value`]).
    Flag(&'a str),
    /// An operand, such as a file name or `-`.
    Operand(&'a str),
}

/// The arguments after the subcommand's name.
pub struct Args<'a> {
    items: std::slice::Iter<'a, String>,
    /// The value written into the last flag (`--status=429`), until it is taken.
    inline: Option<(&'a str, &'a str)>,
    /// Whether `--` has been seen: everything after it is an operand.
    operands_only: bool,
}

impl<'a> Args<'a> {
    pub fn new(args: &'a [String]) -> Self {
        Args { items: args.iter(), inline: None, operands_only: false }
    }

    /// The next argument; `None` after the last. A value written into a flag that takes none
    /// (`--pretty=yes`) is an error.
    pub fn next(&mut self) -> Result<Option<Arg<'a>>, Failure> {
        if let Some((flag, _)) = self.inline.take() {
            return Err(Failure::usage(format!("{flag} takes no value")));
        }
        let Some(arg) = self.items.next() else { return Ok(None) };
        if self.operands_only || arg == "-" || !arg.starts_with('-') {
            return Ok(Some(Arg::Operand(arg)));
        }
        if arg == "--" {
            self.operands_only = true;
            return self.next();
        }
        if arg.starts_with("--")
            && let Some((flag, value)) = arg.split_once('=')
        {
            self.inline = Some((flag, value));
            return Ok(Some(Arg::Flag(flag)));
        }
        Ok(Some(Arg::Flag(arg)))
    }

    /// The value of `flag`: written into it (`--status=429`) or the next argument.
    pub fn value(&mut self, flag: &str) -> Result<&'a str, Failure> {
        if let Some((_, value)) = self.inline.take() {
            return Ok(value);
        }
        self.items.next().map(String::as_str).ok_or_else(|| Failure::usage(format!("{flag} needs a value")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(args: &[&str]) -> Result<Vec<String>, String> {
        let owned: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let mut it = Args::new(&owned);
        let mut seen = Vec::new();
        while let Some(arg) = it.next().map_err(|f| f.message)? {
            seen.push(match arg {
                Arg::Flag(f @ ("--status" | "-s")) => format!("{f}={}", it.value(f).map_err(|f| f.message)?),
                Arg::Flag(f) => f.to_owned(),
                Arg::Operand(o) => format!("<{o}>"),
            });
        }
        Ok(seen)
    }

    #[test]
    fn values_follow_or_are_written_in() {
        assert_eq!(all(&["--status", "429", "x"]).unwrap(), ["--status=429", "<x>"]);
        assert_eq!(all(&["--status=429", "x"]).unwrap(), ["--status=429", "<x>"]);
        assert_eq!(all(&["--status=", "-"]).unwrap(), ["--status=", "<->"]);
        assert_eq!(all(&["-s", "1"]).unwrap(), ["-s=1"]);
        // A value may itself start with a dash or hold an equals sign.
        assert_eq!(all(&["--status", "--pretty"]).unwrap(), ["--status=--pretty"]);
        assert_eq!(all(&["--status=a=b"]).unwrap(), ["--status=a=b"]);
    }

    #[test]
    fn operands_after_a_double_dash() {
        assert_eq!(all(&["--", "--pretty", "-x"]).unwrap(), ["<--pretty>", "<-x>"]);
    }

    #[test]
    fn misuse_is_named() {
        assert_eq!(all(&["--pretty=yes"]).unwrap_err(), "--pretty takes no value");
        assert_eq!(all(&["--pretty=yes", "x"]).unwrap_err(), "--pretty takes no value");
        assert_eq!(all(&["--status"]).unwrap_err(), "--status needs a value");
    }
}
