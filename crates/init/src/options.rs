//! Parsing `name:key=value:key=value` into typed options, refusing any left unused.

use crate::{Dist, InitError, Mode, Result};
use std::fmt::{Display, LowerExp};

/// A number as specs and run names write it: plainly (`0.005`), or in exponent form
/// (`1e300`) where the plain form would take more than 12 characters, so no value can make
/// a name too long for a file system. Both forms parse back to the same number.
pub fn compact_number<T: Display + LowerExp>(x: T) -> String {
    let plain = x.to_string();
    if plain.len() <= 12 {
        plain
    } else {
        format!("{x:e}")
    }
}

/// The options of one initializer spec. Each builder takes the keys it understands;
/// [`Options::finish`] then refuses any key nobody took, listing the accepted ones.
#[derive(Debug)]
pub struct Options {
    name: String,
    pairs: Vec<(String, String)>,
    accepted: Vec<&'static str>,
    /// Every option a builder read, in order: its key and its canonical value where it
    /// differs from the default.
    canonical: Vec<(&'static str, Option<String>)>,
}

impl Options {
    /// Splits `name[:key=value]...`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut parts = spec.trim().split(':');
        let name = parts.next().unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return Err(InitError::Malformed(spec.to_string()));
        }
        let mut pairs = vec![];
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| InitError::Malformed(spec.to_string()))?;
            let (k, v) = (k.trim(), v.trim());
            if k.is_empty()
                || v.is_empty()
                || pairs.iter().any(|(pk, _): &(String, String)| pk == k)
            {
                return Err(InitError::Malformed(spec.to_string()));
            }
            pairs.push((k.to_string(), v.to_string()));
        }
        Ok(Self {
            name,
            pairs,
            accepted: vec![],
            canonical: vec![],
        })
    }

    /// The initializer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the raw value of `key`, if given, and records `key` as accepted.
    fn take(&mut self, key: &'static str) -> Option<String> {
        self.accepted.push(key);
        let i = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(i).1)
    }

    /// Takes `key` as a value of any type: `parse` reads it (`None`: refused, with
    /// `expected` in the message), `show` writes it back in canonical form, and the value
    /// is recorded for [`Options::spec`] unless it equals `default`. Every typed getter
    /// below is this one; an initializer with an option of its own type calls it directly.
    pub fn value<T: PartialEq>(
        &mut self,
        key: &'static str,
        default: T,
        parse: impl Fn(&str) -> Option<T>,
        show: impl Fn(&T) -> String,
        expected: &str,
    ) -> Result<T> {
        let v = match self.take(key) {
            None => None,
            Some(raw) => Some(parse(&raw).ok_or_else(|| self.bad(key, &raw, expected))?),
        };
        let v = v.filter(|v| *v != default);
        self.canonical.push((key, v.as_ref().map(&show)));
        Ok(v.unwrap_or(default))
    }

    /// The canonical spec of what was read: the name, then `:key=value` for each option
    /// that differs from its default, in the order the builder read them. The registry
    /// records this, never a string an initializer writes itself, so `--init
    /// geomean:dist=uniform` and `geomean` can never be confused.
    pub fn spec(&self) -> String {
        let mut s = self.name.clone();
        for (k, v) in &self.canonical {
            if let Some(v) = v {
                s += &format!(":{k}={v}");
            }
        }
        s
    }

    fn bad(&self, key: &str, value: &str, reason: &str) -> InitError {
        InitError::BadValue {
            init: self.name.clone(),
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// Takes a finite number, or `default` when absent.
    pub fn f64(&mut self, key: &'static str, default: f64) -> Result<f64> {
        let finite = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite());
        self.value(
            key,
            default,
            finite,
            |x| compact_number(*x),
            "expected a finite number",
        )
    }

    /// Takes a strictly positive number, or `default` when absent.
    pub fn positive(&mut self, key: &'static str, default: f64) -> Result<f64> {
        let positive = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0);
        self.value(
            key,
            default,
            positive,
            |x| compact_number(*x),
            "must be a positive number",
        )
    }

    /// Takes a whole number from 1 to `max`, or `default` when absent. The bound keeps
    /// an option that counts work (iterations, say) from asking for a run that never ends.
    pub fn count(&mut self, key: &'static str, default: usize, max: usize) -> Result<usize> {
        let count = |v: &str| v.parse::<usize>().ok().filter(|n| (1..=max).contains(n));
        let expected = format!("expected a whole number from 1 to {max}");
        self.value(key, default, count, usize::to_string, &expected)
    }

    /// Takes `mode=fan_in|fan_out|fan_avg`, or `default`.
    pub fn mode(&mut self, default: Mode) -> Result<Mode> {
        let show = |m: &Mode| m.as_str().to_string();
        self.value(
            "mode",
            default,
            Mode::parse,
            show,
            "expected fan_in, fan_out or fan_avg",
        )
    }

    /// Takes `dist=normal|uniform|truncated_normal`, or `default`.
    pub fn dist(&mut self, default: Dist) -> Result<Dist> {
        let show = |d: &Dist| d.as_str().to_string();
        let expected = "expected normal, uniform or truncated_normal";
        self.value("dist", default, Dist::parse, show, expected)
    }

    /// Refuses any option that no builder took.
    pub fn finish(self) -> Result<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(InitError::UnknownOption {
                init: self.name.clone(),
                key: k.clone(),
                accepted: if self.accepted.is_empty() {
                    "no options".into()
                } else {
                    self.accepted.join(", ")
                },
            }),
        }
    }
}
