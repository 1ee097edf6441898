//! A serde `Deserializer` over a merged TOML tree whose leaves may be strings from the
//! environment. A string becomes a number, a boolean or a list only where the target field asks
//! for one (`"8080"` stays a string for a string field), so the struct decides every type —
//! including fields with no default entry, like `federation.oidc.<name>.scopes`.
//!
//! Errors carry the dotted path of the setting they concern (`tokens.access_token_ttl_secs`).
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use toml::Value;

/// A deserialization error, located at a setting path once known.
#[derive(Debug)]
pub struct Error {
    pub message: String,
    /// Dotted path of the setting (or section) the error is about.
    pub at: Option<String>,
}

impl Error {
    fn locate(mut self, path: &[String]) -> Self {
        if self.at.is_none() && !path.is_empty() {
            self.at = Some(path.join("."));
        }
        self
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            at: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// A node of the tree and where it sits.
pub struct Coerce {
    value: Value,
    path: Vec<String>,
}

impl Coerce {
    pub fn root(value: Value) -> Coerce {
        Coerce {
            value,
            path: Vec::new(),
        }
    }

    fn child(&self, key: String, value: Value) -> Coerce {
        let mut path = self.path.clone();
        path.push(key);
        Coerce { value, path }
    }

    /// Hands a scalar to toml's own deserializer.
    fn delegate<T>(self, f: impl FnOnce(Value) -> Result<T, toml::de::Error>) -> Result<T, Error> {
        let path = self.path;
        f(self.value).map_err(|e| <Error as de::Error>::custom(e.message()).locate(&path))
    }

    fn bad(&self, expected: &str, got: &str) -> Error {
        Error {
            message: format!("expected {expected}, got {got:?}"),
            at: None,
        }
        .locate(&self.path)
    }

    fn seq(self, items: Vec<Value>) -> Seq {
        Seq {
            items: items.into_iter(),
            path: self.path,
            index: 0,
        }
    }
}

/// The items of a list given as one string: comma- or space-separated, or a TOML array.
fn split_list(s: &str) -> Option<Vec<Value>> {
    let trimmed = s.trim();
    if trimmed.starts_with('[') {
        let table = format!("v = {trimmed}").parse::<toml::Table>().ok()?;
        return match table.get("v") {
            Some(Value::Array(items)) => Some(items.clone()),
            _ => None,
        };
    }
    Some(
        trimmed
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| Value::String(item.to_string()))
            .collect(),
    )
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

macro_rules! integer {
    ($($method:ident => $parse:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            if let Value::String(s) = &self.value {
                let n: $parse = s.trim().parse().map_err(|_| self.bad("a number", s))?;
                let path = self.path;
                return visitor.$visit(n).map_err(|e: Error| e.locate(&path));
            }
            self.delegate(|v| v.$method(visitor))
        }
    )*};
}

macro_rules! delegate {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.delegate(|v| v.$method(visitor))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Coerce {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Table(_) => self.deserialize_map(visitor),
            Value::Array(_) => self.deserialize_seq(visitor),
            _ => self.delegate(|v| v.deserialize_any(visitor)),
        }
    }

    integer! {
        deserialize_i8 => i64, visit_i64;
        deserialize_i16 => i64, visit_i64;
        deserialize_i32 => i64, visit_i64;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u64, visit_u64;
        deserialize_u16 => u64, visit_u64;
        deserialize_u32 => u64, visit_u64;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f64, visit_f64;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Value::String(s) = &self.value {
            let b = parse_bool(s).ok_or_else(|| self.bad("true or false", s))?;
            return visitor.visit_bool(b);
        }
        self.delegate(|v| v.deserialize_bool(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            // An empty variable (`PORTCULLIS_BIND=`) means "not set".
            Value::String(s) if s.is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let items = match &self.value {
            Value::Array(items) => items.clone(),
            Value::String(s) => split_list(s).ok_or_else(|| self.bad("a list", s))?,
            _ => return self.delegate(|v| v.deserialize_seq(visitor)),
        };
        visitor.visit_seq(self.seq(items))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Value::Table(table) = &self.value else {
            return self.delegate(|v| v.deserialize_map(visitor));
        };
        let entries: Vec<(String, Value)> = table.clone().into_iter().collect();
        let path = self.path.clone();
        let map = Map {
            parent: self,
            entries: entries.into_iter(),
            pending: None,
        };
        visitor.visit_map(map).map_err(|e| e.locate(&path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.delegate(|v| v.deserialize_enum(name, variants, visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.delegate(|v| v.deserialize_unit_struct(name, visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        self.delegate(|v| v.deserialize_tuple(len, visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.delegate(|v| v.deserialize_tuple_struct(name, len, visitor))
    }

    delegate! {
        deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier deserialize_ignored_any
    }
}

struct Seq {
    items: std::vec::IntoIter<Value>,
    path: Vec<String>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let mut path = self.path.clone();
        path.push(self.index.to_string());
        self.index += 1;
        let item = Coerce {
            value,
            path: path.clone(),
        };
        seed.deserialize(item)
            .map(Some)
            .map_err(|e| e.locate(&path))
    }
}

struct Map {
    parent: Coerce,
    entries: std::vec::IntoIter<(String, Value)>,
    pending: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for Map {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key.clone(), value));
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a value without its key"))?;
        let child = self.parent.child(key, value);
        let path = child.path.clone();
        seed.deserialize(child).map_err(|e| e.locate(&path))
    }
}
