//! Which cardiac view a series shows: a configurable table of name rules, with a geometric
//! fallback for unnamed stacks.
//!
//! Names are matched in lower case against the SeriesDescription, then the ProtocolName.
//! A [`NameMatch::Token`] must equal one of the name's alphanumeric tokens (`sa` matches
//! `cine_sa` and `SA 8mm`, not `sagittal`); a [`NameMatch::Squashed`] must occur in the name
//! with everything but letters and digits removed (`2ch` matches `LAX 2 Ch` and
//! `CINE_segmented_LAX_2Ch`). The first matching rule wins.
//!
//! ```
//! use cmr_geometry::views::ViewRules;
//! use cmr_geometry::View;
//! let rules = ViewRules::default();
//! assert_eq!(rules.classify("CINE_segmented_SAX_b7", ""), View::ShortAxis);
//! assert_eq!(rules.classify("CINE_segmented_LAX_2Ch", ""), View::TwoChamber);
//! assert_eq!(rules.classify("cine LVOT", ""), View::ThreeChamber);
//! assert_eq!(rules.classify("", "tf2d15_retro_iPAT 4ch"), View::FourChamber);
//! assert_eq!(rules.classify("localizer", "sagittal"), View::Other);
//! ```

use serde::{Deserialize, Serialize};

use crate::study::{Slice, View};

/// How a rule's pattern is compared with a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameMatch {
    /// Equal to one of the name's alphanumeric tokens (lower case).
    Token(String),
    /// Contained in the name with all but letters and digits removed (lower case).
    Squashed(String),
}

impl NameMatch {
    fn matches(&self, tokens: &[String], squashed: &str) -> bool {
        match self {
            NameMatch::Token(t) => tokens.iter().any(|x| x == t),
            NameMatch::Squashed(s) => squashed.contains(s.as_str()),
        }
    }
}

/// One row of the table: names matching `pattern` show `view`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRule {
    /// What to look for.
    pub pattern: NameMatch,
    /// The view it means.
    pub view: View,
}

/// The rule table (first match wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRules {
    /// The rules, in priority order.
    pub rules: Vec<ViewRule>,
}

fn rule(pattern: NameMatch, view: View) -> ViewRule {
    ViewRule { pattern, view }
}

impl Default for ViewRules {
    /// UK Biobank names (`CINE_segmented_SAX_b1`, `CINE_segmented_LAX_2Ch|3Ch|4Ch`) and common
    /// vendor spellings: `sax`, `sa`, `short axis`; `2ch`, `vla`; `3ch`, `lvot`; `4ch`, `hla`.
    /// Long-axis rules come first, so a name such as `sa_to_4ch_planning` counts as 4Ch.
    fn default() -> Self {
        use NameMatch::{Squashed, Token};
        let s = |x: &str| x.to_string();
        Self {
            rules: vec![
                rule(Squashed(s("2ch")), View::TwoChamber),
                rule(Squashed(s("2chamber")), View::TwoChamber),
                rule(Token(s("vla")), View::TwoChamber),
                rule(Squashed(s("3ch")), View::ThreeChamber),
                rule(Squashed(s("3chamber")), View::ThreeChamber),
                rule(Token(s("lvot")), View::ThreeChamber),
                rule(Squashed(s("4ch")), View::FourChamber),
                rule(Squashed(s("4chamber")), View::FourChamber),
                rule(Token(s("hla")), View::FourChamber),
                rule(Token(s("sax")), View::ShortAxis),
                rule(Token(s("sa")), View::ShortAxis),
                rule(Squashed(s("shortaxis")), View::ShortAxis),
            ],
        }
    }
}

fn tokens_of(name: &str) -> (Vec<String>, String) {
    let lower = name.to_lowercase();
    let tokens = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let squashed = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    (tokens, squashed)
}

impl ViewRules {
    /// A table with `rule` placed first (so it overrides the others).
    pub fn with_rule_first(mut self, pattern: NameMatch, view: View) -> Self {
        self.rules.insert(0, rule(pattern, view));
        self
    }

    /// The view a name shows, if a rule matches.
    pub fn classify_name(&self, name: &str) -> Option<View> {
        let (tokens, squashed) = tokens_of(name);
        self.rules
            .iter()
            .find(|r| r.pattern.matches(&tokens, &squashed))
            .map(|r| r.view)
    }

    /// The view from the SeriesDescription, else the ProtocolName, else [`View::Other`].
    pub fn classify(&self, series_description: &str, protocol_name: &str) -> View {
        self.classify_name(series_description)
            .or_else(|| self.classify_name(protocol_name))
            .unwrap_or(View::Other)
    }
}

/// Geometric fallback: do these slices form a stack, i.e. at least `min_slices` parallel
/// planes whose positions step along their normal (the in-plane part of each step at most a
/// quarter of its length)? A name-less series that does is taken as a short-axis stack.
pub fn is_stack(slices: &[Slice], min_slices: usize) -> bool {
    if slices.len() < min_slices.max(2) {
        return false;
    }
    let n = slices[0].plane.normal();
    slices.iter().all(|s| s.plane.normal().dot(n) > 1.0 - 1e-6)
        && slices.windows(2).all(|w| {
            let d = w[1].plane.origin() - w[0].plane.origin();
            let along = d.dot(n);
            let across = (d - n * along).norm();
            along.abs() > 1e-3 && across <= 0.25 * along.abs()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::{Frame, PixelRef};
    use crate::{ImagePlane, Vec3};

    #[test]
    fn default_rules_cover_biobank_and_vendor_names() {
        let r = ViewRules::default();
        for (name, view) in [
            ("CINE_segmented_SAX_b1", View::ShortAxis),
            ("CINE_segmented_SAX_b13", View::ShortAxis),
            ("cine_sa", View::ShortAxis),
            ("SA stack 8mm", View::ShortAxis),
            ("Short Axis Cine", View::ShortAxis),
            ("CINE_segmented_LAX_2Ch", View::TwoChamber),
            ("2CH cine", View::TwoChamber),
            ("LAX 2 Ch", View::TwoChamber),
            ("cine_vla", View::TwoChamber),
            ("CINE_segmented_LAX_3Ch", View::ThreeChamber),
            ("lvot", View::ThreeChamber),
            ("CINE_segmented_LAX_4Ch", View::FourChamber),
            ("4ch", View::FourChamber),
            ("hla cine", View::FourChamber),
            ("sagittal localizer", View::Other),
            ("saturation test", View::Other),
            ("LAX", View::Other),
        ] {
            assert_eq!(r.classify(name, ""), view, "{name}");
        }
        assert_eq!(r.classify("cine", "sax_retro"), View::ShortAxis);
        assert_eq!(r.classify("2ch", "sax"), View::TwoChamber);
    }

    #[test]
    fn rules_are_configurable() {
        let r =
            ViewRules::default().with_rule_first(NameMatch::Token("kurz".into()), View::ShortAxis);
        assert_eq!(r.classify("Kurzachse kurz", ""), View::ShortAxis);
        let empty = ViewRules { rules: vec![] };
        assert_eq!(empty.classify("sax", ""), View::Other);
    }

    fn slice_at(origin: Vec3) -> Slice {
        Slice {
            plane: ImagePlane::new(
                origin,
                Vec3::new(1.0, 0.0, 0.0),
                Vec3::new(0.0, 1.0, 0.0),
                crate::PixelSpacing::from_dicom([1.0, 1.0]),
                4,
                4,
            )
            .unwrap(),
            frames: vec![Frame::new(PixelRef::Memory { index: 0 })],
        }
    }

    #[test]
    fn stacks_step_along_their_normal() {
        let stack: Vec<Slice> = (0..4)
            .map(|k| slice_at(Vec3::new(0.5 * k as f64, 0.0, 8.0 * k as f64)))
            .collect();
        assert!(is_stack(&stack, 3));
        assert!(!is_stack(&stack[..2], 3));
        // Sliding sideways is not stepping along the normal.
        let sliding: Vec<Slice> = (0..4)
            .map(|k| slice_at(Vec3::new(10.0 * k as f64, 0.0, 1.0 * k as f64)))
            .collect();
        assert!(!is_stack(&sliding, 3));
    }
}
