//! Parsing `name:key=value:key=value` into typed options, refusing any left unused.

use crate::{Dist, InitError, Mode, Result};

/// The options of one initializer spec. Each builder takes the keys it understands;
/// [`Options::finish`] then refuses any key nobody took, listing the accepted ones.
#[derive(Debug)]
pub struct Options {
    name: String,
    pairs: Vec<(String, String)>,
    accepted: Vec<&'static str>,
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
        })
    }

    /// The initializer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the raw value of `key`, if given, and records `key` as accepted.
    pub fn take(&mut self, key: &'static str) -> Option<String> {
        self.accepted.push(key);
        let i = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(i).1)
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
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(key, &v, "expected a finite number")),
        }
    }

    /// Takes a strictly positive number, or `default` when absent.
    pub fn positive(&mut self, key: &'static str, default: f64) -> Result<f64> {
        let x = self.f64(key, default)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.bad(key, &x.to_string(), "must be positive"))
        }
    }

    /// Takes `mode=fan_in|fan_out|fan_avg`, or `default`.
    pub fn mode(&mut self, default: Mode) -> Result<Mode> {
        match self.take("mode") {
            None => Ok(default),
            Some(v) => Mode::parse(&v)
                .ok_or_else(|| self.bad("mode", &v, "expected fan_in, fan_out or fan_avg")),
        }
    }

    /// Takes `dist=normal|uniform|truncated_normal`, or `default`.
    pub fn dist(&mut self, default: Dist) -> Result<Dist> {
        match self.take("dist") {
            None => Ok(default),
            Some(v) => Dist::parse(&v).ok_or_else(|| {
                self.bad("dist", &v, "expected normal, uniform or truncated_normal")
            }),
        }
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
