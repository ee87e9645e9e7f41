//! Values scripts give in option maps, read through serde and checked as they are read,
//! so a typed option struct needs no hand-written errors of its own.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use crate::base::names::check_name;

/// Seconds as a script writes them: an integer or a float, from 0 up to a year.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub Duration);

impl Seconds {
    /// The given seconds, else `default`.
    pub fn or(given: Option<Seconds>, default: f64) -> Duration {
        given.map_or_else(|| Duration::from_secs_f64(default), |s| s.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Number;
        impl Visitor<'_> for Number {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
        }
        let n = d.deserialize_any(Number)?;
        crate::base::human::seconds(n).map(Seconds).ok_or_else(|| {
            de::Error::custom(format!(
                "must be a number of seconds between 0 and a year, got {n}"
            ))
        })
    }
}

/// A DNS server to ask, as a script writes it: `"ip:port"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAddr(pub SocketAddr);

impl<'de> Deserialize<'de> for ServerAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(ServerAddr)
            .map_err(|_| de::Error::custom(format!("server {text:?} is not ip:port")))
    }
}

/// A string a script gives, read as serde reads it and checked by `check`, whose refusal
/// says what is wrong with the value.
fn checked<'de, D: Deserializer<'de>, T>(
    d: D,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    check(&text).map_err(de::Error::custom)
}

/// A port from 1 to 65535 (nothing listens on 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .map(Port)
            .ok_or_else(|| de::Error::custom(format!("must be a port from 1 to 65535, got {n}")))
    }
}

/// One DNS label: letters, digits and hyphens, no dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label(pub String);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |text| match check_name(text, false) {
            Ok(label) if !label.contains('.') => Ok(Label(label)),
            _ => Err(format!(
                "must be one DNS label (letters, digits, hyphens), got {text:?}"
            )),
        })
    }
}

/// A folder that is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder(pub PathBuf);

impl<'de> Deserialize<'de> for Folder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |text| {
            let path = PathBuf::from(text);
            match path.is_dir() {
                true => Ok(Folder(path)),
                false => Err(format!("{text} is not a folder")),
            }
        })
    }
}

/// A member's peer SRV target as a script writes it: `"name"`, `"name:port"` or
/// `#{target, port}`; the name is what is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerName(pub String);

impl<'de> Deserialize<'de> for PeerName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Given;
        impl<'de> Visitor<'de> for Given {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name, \"name:port\" or #{target, port}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<String, M::Error> {
                let mut target = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "target" => target = Some(map.next_value::<String>()?),
                        _ => drop(map.next_value::<de::IgnoredAny>()?),
                    }
                }
                target.ok_or_else(|| de::Error::missing_field("target"))
            }
        }
        let text = d.deserialize_any(Given)?;
        let host = match text.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => host,
            _ => text.as_str(),
        };
        check_name(host, false)
            .map(PeerName)
            .map_err(|why| de::Error::custom(format!("peer {text:?} is not a name: {why}")))
    }
}

/// The fields of a `#[derive(Deserialize)]` struct, as serde hands them to a deserializer:
/// the keys an option map of that type may have, said when one is misspelt.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

/// A deserializer that only takes note of the fields it is asked for.
struct Introspect<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields taken"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Two {
        timeout: Option<Seconds>,
        interval: Option<Seconds>,
    }

    #[test]
    fn a_structs_fields_are_read_from_its_deserialize() {
        assert_eq!(fields_of::<Two>(), ["timeout", "interval"]);
    }
}
