//! From per-image headers to [`Study`]s: group, split into slices, classify, merge, choose.
//!
//! 1. Group images by StudyInstanceUID, then SeriesInstanceUID.
//! 2. Split each series into slices by image plane (same position and orientation within
//!    [`SAME_PLANE_MM`]): this separates the common layout of one series holding every slice
//!    position x every cine phase. Frames of a slice are ordered by trigger time (images
//!    without one last), then InstanceNumber, then file and frame.
//! 3. Classify each series with the [`ViewRules`] (SeriesDescription, then ProtocolName). An
//!    unnamed series whose slices form a stack of at least three ([`is_stack`]) is short-axis.
//! 4. Merge series of one view that each hold a single slice position and share orientation
//!    and image size into one stack (UK Biobank writes one series per SA slice,
//!    `CINE_segmented_SAX_b1..bN`). Two such series at the same position: the later
//!    SeriesNumber is kept, the other dropped.
//! 5. When several candidates remain for one cardiac view, keep, in order of preference:
//!    original (not `DERIVED`) images; the most slices; the most frames; the highest
//!    SeriesNumber (a repeated acquisition is usually the better one); the smallest UID. The
//!    others are listed in [`Study::dropped`] with the reason.
//!
//! Stacks are sorted along their normal and their spacing measured from positions
//! ([`crate::StackSpacing`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::dicom::header::ImageHeader;
use crate::report::SkipReason;
use crate::study::{DroppedSeries, Frame, PixelRef, Series, Slice, Study, View};
use crate::views::{is_stack, ViewRules};
use crate::ImagePlane;

/// Images whose origins are closer than this (mm), with the same orientation, share a slice.
pub const SAME_PLANE_MM: f64 = 0.01;

/// Direction cosines closer than this count as the same orientation.
const SAME_DIRECTION: f64 = 1e-4;

fn same_orientation(a: &ImagePlane, b: &ImagePlane) -> bool {
    (a.row_dir() - b.row_dir()).norm() < SAME_DIRECTION
        && (a.col_dir() - b.col_dir()).norm() < SAME_DIRECTION
        && (a.rows(), a.cols()) == (b.rows(), b.cols())
}

fn same_plane(a: &ImagePlane, b: &ImagePlane) -> bool {
    same_orientation(a, b) && (a.origin() - b.origin()).norm() < SAME_PLANE_MM
}

/// A series before view assignment and merging.
struct Candidate {
    view: View,
    uid: String,
    description: String,
    series_number: Option<i64>,
    derived: bool,
    slices: Vec<Slice>,
    notes: Vec<String>,
    /// Every series merged into this candidate (just its own UID when none was).
    sources: Vec<String>,
}

impl Candidate {
    fn frame_count(&self) -> usize {
        self.slices.iter().map(|s| s.frames.len()).sum()
    }
}

/// Splits one series' images into slices, frames ordered.
fn slices_of(mut images: Vec<ImageHeader>) -> Vec<Slice> {
    images.sort_by(|a, b| {
        // Trigger time (None last), instance number (None last), file, frame.
        let t = |h: &ImageHeader| {
            (
                h.trigger_time_ms.is_none(),
                h.trigger_time_ms.unwrap_or(0.0),
            )
        };
        let i = |h: &ImageHeader| (h.instance_number.is_none(), h.instance_number.unwrap_or(0));
        let (ta, tb) = (t(a), t(b));
        ta.0.cmp(&tb.0)
            .then(ta.1.total_cmp(&tb.1))
            .then(i(a).cmp(&i(b)))
            .then(a.path.cmp(&b.path))
            .then(a.frame.cmp(&b.frame))
    });
    let mut slices: Vec<Slice> = Vec::new();
    for h in images {
        let frame = Frame {
            image: PixelRef::Dicom {
                path: h.path,
                frame: h.frame,
            },
            label: None,
            trigger_time_ms: h.trigger_time_ms,
            instance_number: h.instance_number,
            phase: None,
        };
        match slices.iter_mut().find(|s| same_plane(&s.plane, &h.plane)) {
            Some(s) => s.frames.push(frame),
            None => slices.push(Slice {
                plane: h.plane,
                frames: vec![frame],
            }),
        }
    }
    slices
}

fn series_notes(slices: &[Slice]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(first) = slices.first() {
        let n = first.plane.normal();
        if slices
            .iter()
            .any(|s| s.plane.normal().dot(n).abs() < 1.0 - 1e-4)
        {
            notes.push("slices are not all parallel".to_string());
        }
        let counts: Vec<usize> = slices.iter().map(|s| s.frames.len()).collect();
        if counts.iter().any(|c| *c != counts[0]) {
            notes.push(format!("slices have different frame counts: {counts:?}"));
        }
    }
    notes
}

/// What assembling found wrong with single files, on top of the studies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssemblyReport {
    /// Images left out of every study, with the file and why (a duplicate, or an image that
    /// disagrees with the rest of its series in orientation, size or pixel spacing).
    pub excluded: Vec<(PathBuf, u32, SkipReason)>,
    /// Files used despite a problem, with what it is (for example an InstanceNumber shared
    /// with another image of the series).
    pub notes: Vec<(PathBuf, String)>,
}

fn plane_text(p: &ImagePlane) -> String {
    let (r, c, s) = (p.row_dir(), p.col_dir(), p.spacing());
    format!(
        "{}x{} px of {:.3}x{:.3} mm, rows along ({:.3}, {:.3}, {:.3}), columns along ({:.3}, \
         {:.3}, {:.3})",
        p.rows(),
        p.cols(),
        s.between_rows,
        s.between_cols,
        r.x,
        r.y,
        r.z,
        c.x,
        c.y,
        c.z
    )
}

/// Images of one cardiac-view series must share orientation, image size and pixel spacing:
/// the largest group of alike images is kept, the others are excluded (and reported).
fn keep_consistent(
    images: Vec<ImageHeader>,
    series: &str,
    report: &mut AssemblyReport,
) -> Vec<ImageHeader> {
    let alike = |a: &ImagePlane, b: &ImagePlane| {
        let (sa, sb) = (a.spacing(), b.spacing());
        same_orientation(a, b)
            && (sa.between_rows - sb.between_rows).abs() < 1e-3
            && (sa.between_cols - sb.between_cols).abs() < 1e-3
    };
    let mut groups: Vec<Vec<ImageHeader>> = Vec::new();
    for h in images {
        match groups.iter_mut().find(|g| alike(&g[0].plane, &h.plane)) {
            Some(g) => g.push(h),
            None => groups.push(vec![h]),
        }
    }
    // The largest group wins; ties go to the group holding the first file.
    groups.sort_by(|a, b| {
        b.len().cmp(&a.len()).then_with(|| {
            let first = |g: &Vec<ImageHeader>| g.iter().map(|h| h.path.clone()).min();
            first(a).cmp(&first(b))
        })
    });
    let mut it = groups.into_iter();
    let kept = it.next().unwrap_or_default();
    if let Some(reference) = kept.first().map(|h| h.plane) {
        for h in it.flatten() {
            let what = if !same_orientation(&reference, &h.plane) {
                if (h.plane.rows(), h.plane.cols()) != (reference.rows(), reference.cols()) {
                    "image size"
                } else {
                    "orientation"
                }
            } else {
                "pixel spacing"
            };
            report.excluded.push((
                h.path.clone(),
                h.frame,
                SkipReason::Inconsistent {
                    detail: format!(
                        "{what} differs from the other {} image(s) of series {series}: {} \
                         vs {}",
                        kept.len(),
                        plane_text(&h.plane),
                        plane_text(&reference)
                    ),
                },
            ));
        }
    }
    kept
}

/// Exact copies (the same SOPInstanceUID and frame in two files) are used once; images of a
/// series that share an InstanceNumber are reported (and, when they also share position and
/// trigger time, so that nothing tells them apart, used once).
fn drop_duplicates(images: Vec<ImageHeader>, report: &mut AssemblyReport) -> Vec<ImageHeader> {
    use std::collections::HashMap;
    let mut images = images;
    images.sort_by(|a, b| a.path.cmp(&b.path).then(a.frame.cmp(&b.frame)));
    let mut kept: Vec<ImageHeader> = Vec::with_capacity(images.len());
    let mut by_sop: HashMap<(String, u32), usize> = HashMap::new();
    let mut by_number: HashMap<(String, i64), Vec<usize>> = HashMap::new();
    for h in images {
        let copy = h
            .sop_instance_uid
            .as_ref()
            .and_then(|uid| by_sop.get(&(uid.clone(), h.frame)))
            .map(|&i| &kept[i])
            .filter(|k| k.path != h.path);
        if let Some(k) = copy {
            report.excluded.push((
                h.path.clone(),
                h.frame,
                SkipReason::Duplicate {
                    of: k.path.clone(),
                    detail: format!(
                        "same SOPInstanceUID {}",
                        h.sop_instance_uid.as_deref().unwrap_or_default()
                    ),
                },
            ));
            continue;
        }
        let number_key = h.instance_number.map(|n| (h.series_uid.clone(), n));
        let twins: Vec<usize> = number_key
            .as_ref()
            .and_then(|key| by_number.get(key))
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| kept[i].path != h.path)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(&i) = twins.iter().find(|&&i| {
            same_plane(&kept[i].plane, &h.plane) && kept[i].trigger_time_ms == h.trigger_time_ms
        }) {
            report.excluded.push((
                h.path.clone(),
                h.frame,
                SkipReason::Duplicate {
                    of: kept[i].path.clone(),
                    detail: format!(
                        "same InstanceNumber {}, position and trigger time",
                        h.instance_number.unwrap_or_default()
                    ),
                },
            ));
            continue;
        }
        for &i in &twins {
            let note = |other: &PathBuf| {
                format!(
                    "InstanceNumber {} is also used by {} in series {}; frames are ordered by \
                     trigger time, then file",
                    h.instance_number.unwrap_or_default(),
                    other.display(),
                    h.series_uid
                )
            };
            report.notes.push((h.path.clone(), note(&kept[i].path)));
            report.notes.push((kept[i].path.clone(), note(&h.path)));
        }
        let index = kept.len();
        if let Some(uid) = &h.sop_instance_uid {
            by_sop.insert((uid.clone(), h.frame), index);
        }
        if let Some(key) = number_key {
            by_number.entry(key).or_default().push(index);
        }
        kept.push(h);
    }
    kept
}

fn candidate(
    uid: String,
    images: Vec<ImageHeader>,
    rules: &ViewRules,
    report: &mut AssemblyReport,
) -> Candidate {
    let first = &images[0];
    let description = first.series_description.clone();
    let series_number = first.series_number;
    let derived = images.iter().all(|h| h.derived);
    let mut view = rules.classify(&first.series_description, &first.protocol_name);
    let images = if view == View::Other {
        images
    } else {
        keep_consistent(images, &format!("{uid} ({description:?})"), report)
    };
    let mut slices = slices_of(images);
    let mut notes = series_notes(&slices);
    if view == View::Other {
        let n = slices[0].plane.normal();
        slices.sort_by(|a, b| a.plane.origin().dot(n).total_cmp(&b.plane.origin().dot(n)));
        if is_stack(&slices, 3) {
            view = View::ShortAxis;
            notes.push(format!(
                "classified as SA from its geometry ({} parallel slices stepping along the \
                 normal); the name {description:?} matched no rule",
                slices.len()
            ));
        }
    }
    Candidate {
        view,
        sources: vec![uid.clone()],
        uid,
        description,
        series_number,
        derived,
        slices,
        notes,
    }
}

/// Merges single-position candidates of one view with the same orientation into stacks.
fn merge_single_slices(cands: Vec<Candidate>, dropped: &mut Vec<DroppedSeries>) -> Vec<Candidate> {
    let (singles, mut out): (Vec<Candidate>, Vec<Candidate>) = cands
        .into_iter()
        .partition(|c| c.slices.len() == 1 && c.view != View::Other);
    // Groups: (view, representative plane) -> members.
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for c in singles {
        match groups.iter_mut().find(|g| {
            g[0].view == c.view
                && g[0].derived == c.derived
                && same_orientation(&g[0].slices[0].plane, &c.slices[0].plane)
        }) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    for mut group in groups {
        if group.len() == 1 {
            out.extend(group);
            continue;
        }
        // Later series first, so a repeated position keeps the later acquisition.
        group.sort_by(|a, b| {
            b.series_number
                .cmp(&a.series_number)
                .then(a.uid.cmp(&b.uid))
        });
        let mut kept: Vec<Candidate> = Vec::new();
        for c in group {
            match kept
                .iter()
                .find(|k| same_plane(&k.slices[0].plane, &c.slices[0].plane))
            {
                Some(k) => dropped.push(DroppedSeries {
                    uid: c.uid,
                    description: c.description,
                    view: c.view,
                    kept_uid: k.uid.clone(),
                    reason: "same slice position as a series with a later SeriesNumber".into(),
                }),
                None => kept.push(c),
            }
        }
        // Name the merged stack after its first series in acquisition order.
        kept.sort_by(|a, b| {
            a.series_number
                .cmp(&b.series_number)
                .then(a.uid.cmp(&b.uid))
        });
        let mut members = kept.into_iter();
        let mut merged = members.next().expect("a group has at least one member");
        for m in members {
            merged.sources.push(m.uid);
            merged.slices.extend(m.slices);
            merged.notes.extend(m.notes);
        }
        if merged.sources.len() > 1 {
            merged.notes.push(format!(
                "merged from {} single-slice series",
                merged.sources.len()
            ));
            merged.notes.extend(series_notes(&merged.slices));
        }
        out.push(merged);
    }
    out
}

fn choose(mut cands: Vec<Candidate>, dropped: &mut Vec<DroppedSeries>) -> Vec<Series> {
    let mut by_view: BTreeMap<View, Vec<Candidate>> = BTreeMap::new();
    for c in cands.drain(..) {
        by_view.entry(c.view).or_default().push(c);
    }
    let mut series = Vec::new();
    for (view, mut group) in by_view {
        if view == View::Other {
            group.sort_by(|a, b| {
                a.series_number
                    .cmp(&b.series_number)
                    .then(a.uid.cmp(&b.uid))
            });
            series.extend(group.into_iter().map(to_series));
            continue;
        }
        group.sort_by(|a, b| {
            a.derived
                .cmp(&b.derived)
                .then(b.slices.len().cmp(&a.slices.len()))
                .then(b.frame_count().cmp(&a.frame_count()))
                .then(b.series_number.cmp(&a.series_number))
                .then(a.uid.cmp(&b.uid))
        });
        let mut it = group.into_iter();
        let kept = it.next().expect("a view group is never empty");
        for d in it {
            let reason = if d.derived != kept.derived {
                "derived images; the kept series has original images".to_string()
            } else if d.slices.len() != kept.slices.len() {
                format!(
                    "{} slices; the kept series has {}",
                    d.slices.len(),
                    kept.slices.len()
                )
            } else if d.frame_count() != kept.frame_count() {
                format!(
                    "{} frames; the kept series has {}",
                    d.frame_count(),
                    kept.frame_count()
                )
            } else {
                format!(
                    "same size; the kept series has the later SeriesNumber ({:?} vs {:?}) or \
                     the smaller UID",
                    kept.series_number, d.series_number
                )
            };
            dropped.push(DroppedSeries {
                uid: d.uid,
                description: d.description,
                view,
                kept_uid: kept.uid.clone(),
                reason,
            });
        }
        series.push(to_series(kept));
    }
    series
}

fn to_series(c: Candidate) -> Series {
    let mut s = Series::new(c.view, c.uid, c.description, c.slices);
    s.source_uids = c.sources;
    s.notes = c.notes;
    if let Some(sp) = &s.spacing {
        if !sp.gaps_after.is_empty() {
            s.notes.push(format!(
                "gap in the stack after slice(s) {:?} (median spacing {:.2} mm, largest {:.2} mm)",
                sp.gaps_after, sp.median_mm, sp.max_mm
            ));
        } else if sp.irregular {
            s.notes.push(format!(
                "irregular slice spacing: {:.2} to {:.2} mm",
                sp.min_mm, sp.max_mm
            ));
        }
    }
    s
}

/// Builds studies from image headers (see the [module docs](self) for the rules). Studies
/// come sorted by UID; within a study, the cardiac views in [`View::CARDIAC`] order, then the
/// other series by SeriesNumber.
pub fn assemble_studies(headers: Vec<ImageHeader>, rules: &ViewRules) -> Vec<Study> {
    assemble_studies_with_report(headers, rules).0
}

/// [`assemble_studies`], also returning the images it left out or used despite a problem:
/// exact copies, images whose orientation, size or pixel spacing disagrees with the rest of a
/// cardiac-view series, InstanceNumbers shared within a series.
pub fn assemble_studies_with_report(
    headers: Vec<ImageHeader>,
    rules: &ViewRules,
) -> (Vec<Study>, AssemblyReport) {
    let mut report = AssemblyReport::default();
    let headers = drop_duplicates(headers, &mut report);
    let mut studies: BTreeMap<String, BTreeMap<String, Vec<ImageHeader>>> = BTreeMap::new();
    for h in headers {
        studies
            .entry(h.study_uid.clone())
            .or_default()
            .entry(h.series_uid.clone())
            .or_default()
            .push(h);
    }
    let studies = studies
        .into_iter()
        .map(|(uid, series)| {
            let patient_id = series.values().flatten().find_map(|h| h.patient_id.clone());
            let cands: Vec<Candidate> = series
                .into_iter()
                .map(|(suid, images)| candidate(suid, images, rules, &mut report))
                .collect();
            let mut dropped = Vec::new();
            let cands = merge_single_slices(cands, &mut dropped);
            let series = choose(cands, &mut dropped);
            Study {
                uid,
                patient_id,
                series,
                dropped,
            }
        })
        .collect();
    (studies, report)
}
