//! The roles and scopes parts of the document: `[roles.NAME]` with `permissions`, `require_mfa`
//! and `description` (or the short `NAME = ["perm", …]` under `[roles]`), and `[scopes.NAME]`
//! with the consent `description` in English and `descriptions = { de = "…" }` in others.
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::roles::Role;

/// One role: a table, or only its permissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleEntry {
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_mfa: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleTable {
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    require_mfa: bool,
    #[serde(default)]
    description: Option<String>,
}

impl<'de> Deserialize<'de> for RoleEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = RoleEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of permissions or a table with `permissions`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RoleEntry, A::Error> {
                let permissions = Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(RoleEntry {
                    permissions,
                    require_mfa: false,
                    description: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RoleEntry, A::Error> {
                let t = RoleTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RoleEntry {
                    permissions: t.permissions,
                    require_mfa: t.require_mfa,
                    description: t.description,
                })
            }
        }
        d.deserialize_any(Either)
    }
}

impl RoleEntry {
    pub fn role(self, name: &str) -> Role {
        Role {
            name: name.to_string(),
            permissions: self.permissions,
            require_mfa: self.require_mfa,
            description: self.description,
        }
    }

    pub fn of(role: &Role) -> RoleEntry {
        RoleEntry {
            permissions: role.permissions.clone(),
            require_mfa: role.require_mfa,
            description: role.description.clone(),
        }
    }
}

/// What the consent page says a scope lets a client do.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeEntry {
    /// In English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// In other languages, by code (`de`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub descriptions: BTreeMap<String, String>,
}

impl ScopeEntry {
    /// The texts by language (`en` from `description`), or why they are refused: a language
    /// the server doesn't know, English twice, or a text that is empty, too long or not one
    /// line.
    pub fn texts(&self) -> Result<BTreeMap<String, String>, String> {
        let mut texts = BTreeMap::new();
        if let Some(en) = &self.description {
            texts.insert("en".to_string(), en.clone());
        }
        for (lang, text) in &self.descriptions {
            if lang == "en" {
                return Err("give English as `description`, not in `descriptions`".into());
            }
            if crate::i18n::Lang::from_tag(lang).map(|l| l.code()) != Some(lang.as_str()) {
                return Err(format!("descriptions: unknown language {lang:?}"));
            }
            texts.insert(lang.clone(), text.clone());
        }
        if texts.is_empty() {
            return Err("give a `description`".into());
        }
        for (lang, text) in &texts {
            if text.trim().is_empty()
                || text.chars().count() > crate::identity::roles::MAX_DESCRIPTION
                || text.contains(['\n', '\r'])
            {
                return Err(format!(
                    "description ({lang}): one line of 1 to {} characters",
                    crate::identity::roles::MAX_DESCRIPTION
                ));
            }
        }
        Ok(texts)
    }

    pub fn of(texts: &BTreeMap<String, String>) -> ScopeEntry {
        ScopeEntry {
            description: texts.get("en").cloned(),
            descriptions: texts
                .iter()
                .filter(|(l, _)| *l != "en")
                .map(|(l, t)| (l.clone(), t.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(en: Option<&str>, others: &[(&str, &str)]) -> ScopeEntry {
        ScopeEntry {
            description: en.map(str::to_string),
            descriptions: others
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn scope_texts_are_checked() {
        let texts = entry(Some("Read"), &[("de", "Lesen")]).texts().unwrap();
        assert_eq!(
            texts.into_iter().collect::<Vec<_>>(),
            [("de".into(), "Lesen".into()), ("en".into(), "Read".into())]
        );
        assert_eq!(
            entry(Some("Read"), &[("fr", "Lire")]).texts(),
            Err("descriptions: unknown language \"fr\"".into())
        );
        assert_eq!(
            entry(None, &[("en", "Read")]).texts(),
            Err("give English as `description`, not in `descriptions`".into())
        );
        assert_eq!(entry(None, &[]).texts(), Err("give a `description`".into()));
        assert_eq!(
            entry(Some(" "), &[]).texts(),
            Err("description (en): one line of 1 to 500 characters".into())
        );
    }

    #[test]
    fn a_role_is_a_list_or_a_table() {
        #[derive(Deserialize)]
        struct Doc {
            roles: BTreeMap<String, RoleEntry>,
        }
        let doc: Doc = toml::from_str(
            "[roles]\nops = [\"deploy\"]\n[roles.admin]\npermissions = [\"all\"]\nrequire_mfa = true\n",
        )
        .unwrap();
        assert_eq!(doc.roles["ops"].permissions, ["deploy"]);
        assert!(doc.roles["admin"].require_mfa && !doc.roles["ops"].require_mfa);
        let err = toml::from_str::<Doc>("[roles.ops]\npermissions = []\nmfa = true\n")
            .err()
            .unwrap();
        assert!(err.message().starts_with("unknown field `mfa`"), "{err}");
    }
}
