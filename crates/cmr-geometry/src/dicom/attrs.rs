//! Small typed accessors over a DICOM data set, including functional-group lookup.

use dicom_core::header::HasLength;
use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// A data set (root or sequence item).
pub(crate) type Obj = InMemDicomObject;

/// Trimmed text of an attribute; `None` when absent, empty or not text.
pub(crate) fn text(obj: &Obj, tag: Tag) -> Option<String> {
    let v = obj.get(tag)?.to_str().ok()?;
    let v = v.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!v.is_empty()).then(|| v.to_string())
}

/// All numeric values of an attribute (decimal strings or binary floats).
///
/// `Ok(None)` when absent or empty; `Err(value text)` when present but not numeric.
pub(crate) fn floats(obj: &Obj, tag: Tag) -> Result<Option<Vec<f64>>, String> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    if e.is_empty() {
        return Ok(None);
    }
    match e.to_multi_float64() {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(e.to_str().map(|s| s.into_owned()).unwrap_or_default()),
    }
}

/// A single number; `None` when absent or unreadable.
pub(crate) fn float(obj: &Obj, tag: Tag) -> Option<f64> {
    floats(obj, tag)
        .ok()
        .flatten()
        .and_then(|v| v.first().copied())
        .filter(|v| v.is_finite())
}

/// An integer; `None` when absent or unreadable.
pub(crate) fn int(obj: &Obj, tag: Tag) -> Option<i64> {
    let e = obj.get(tag)?;
    if e.is_empty() {
        return None;
    }
    e.to_int::<i64>().ok()
}

/// The items of a sequence attribute (empty when absent).
pub(crate) fn items(obj: &Obj, tag: Tag) -> &[Obj] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The first item of a sequence attribute.
pub(crate) fn first_item(obj: &Obj, tag: Tag) -> Option<&Obj> {
    items(obj, tag).first()
}

/// Where the attributes of one frame are looked up: the frame's item of the per-frame
/// functional groups, then the shared functional groups, then the root data set.
pub(crate) struct FrameScope<'a> {
    pub per_frame: Option<&'a Obj>,
    pub shared: Option<&'a Obj>,
    pub root: &'a Obj,
}

impl<'a> FrameScope<'a> {
    /// The data sets to search for `attr` inside functional group `group`, in priority order.
    fn candidates(&self, group: Tag) -> impl Iterator<Item = &'a Obj> + '_ {
        [self.per_frame, self.shared]
            .into_iter()
            .flatten()
            .filter_map(move |g| first_item(g, group))
            .chain(std::iter::once(self.root))
    }

    /// Numbers of `attr` from functional group `group` (or the root).
    pub fn floats(&self, group: Tag, attr: Tag) -> Result<Option<Vec<f64>>, String> {
        for obj in self.candidates(group) {
            if let Some(v) = floats(obj, attr)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// One number of `attr` from functional group `group` (or the root).
    pub fn float(&self, group: Tag, attr: Tag) -> Option<f64> {
        self.candidates(group).find_map(|o| float(o, attr))
    }
}
