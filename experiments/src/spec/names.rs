//! How typed settings are written in `config.json` and checkpoints: by their CLI names,
//! an unknown name an error (never a silent fallback).

use layers::Head;

/// The rectifier as its CLI name in `config.json` and checkpoints; an unknown name is an
/// error, never a silent fallback.
pub mod activation_name {
    use layers::Activation;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(a: &Activation, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Activation, D::Error> {
        let name = String::deserialize(d)?;
        Activation::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = Activation::ALL.iter().map(|a| a.as_str()).collect();
            D::Error::custom(format!(
                "unknown activation `{name}` (known: {})",
                known.join(", ")
            ))
        })
    }
}

/// Whether the head is the default (left out of files).
pub fn is_compared(h: &Head) -> bool {
    *h == Head::Compared
}

/// The fc head as its CLI name in files (`compared`, `paper`).
pub mod head_name {
    use layers::Head;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Head, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match h {
            Head::Compared => "compared",
            Head::Paper => "paper",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Head, D::Error> {
        match String::deserialize(d)?.as_str() {
            "compared" => Ok(Head::Compared),
            "paper" => Ok(Head::Paper),
            other => Err(D::Error::custom(format!(
                "unknown head `{other}` (known: compared, paper)"
            ))),
        }
    }
}
