//! [`StudySource`]: anything that yields studies and loads their pixels, and
//! [`MemorySource`], the in-memory one.

use ndarray::Array2;

use crate::error::GeometryError;
use crate::study::{PixelRef, Study};

/// Anything that yields [`Study`]s (a DICOM folder, a NIfTI folder, a phantom in memory) and
/// loads the pixels their [`PixelRef`]s point at.
///
/// Arrays are `[rows, cols]`, matching the frame's [`ImagePlane`](crate::ImagePlane).
pub trait StudySource {
    /// The studies found (from headers only; no pixels are read to list them).
    fn studies(&self) -> &[Study];

    /// The pixels of one image as `f32` (DICOM: modality values, i.e. after RescaleSlope and
    /// RescaleIntercept).
    ///
    /// # Errors
    /// A [`GeometryError`] naming the file when the pixels cannot be read or decoded.
    fn load_image(&self, image: &PixelRef) -> Result<Array2<f32>, GeometryError>;

    /// A label map (0 = background; see the crate docs for the label values of each view).
    ///
    /// # Errors
    /// A [`GeometryError`] naming the file when the labels cannot be read, or hold values
    /// that are not integers in `0..=255`.
    fn load_label(&self, label: &PixelRef) -> Result<Array2<u8>, GeometryError>;
}

/// A [`StudySource`] whose images and labels live in memory: push arrays, get
/// [`PixelRef::Memory`] references, build [`Study`]s from them.
///
/// ```
/// use cmr_geometry::{Frame, ImagePlane, MemorySource, Series, Slice, Study, StudySource, View};
/// use ndarray::Array2;
/// let mut source = MemorySource::default();
/// let mut frame = Frame::new(source.push_image(Array2::from_elem((4, 5), 1.5)));
/// frame.label = Some(source.push_label(Array2::from_elem((4, 5), 2)));
/// let plane = ImagePlane::from_dicom([0.0; 3], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0], 4, 5)?;
/// let series = Series::new(View::ShortAxis, "sa", "sa", vec![Slice { plane, frames: vec![frame] }]);
/// source.push_study(Study { uid: "s1".into(), patient_id: None, series: vec![series], dropped: vec![] });
/// let f = &source.studies()[0].series[0].slices[0].frames[0];
/// assert_eq!(source.load_image(&f.image)?[[3, 4]], 1.5);
/// assert_eq!(source.load_label(f.label.as_ref().unwrap())?[[0, 0]], 2);
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    studies: Vec<Study>,
    images: Vec<Array2<f32>>,
    labels: Vec<Array2<u8>>,
}

impl MemorySource {
    /// Stores an image and returns its reference.
    pub fn push_image(&mut self, image: Array2<f32>) -> PixelRef {
        self.images.push(image);
        PixelRef::Memory {
            index: self.images.len() - 1,
        }
    }

    /// Stores a label map and returns its reference (labels are numbered separately from
    /// images).
    pub fn push_label(&mut self, label: Array2<u8>) -> PixelRef {
        self.labels.push(label);
        PixelRef::Memory {
            index: self.labels.len() - 1,
        }
    }

    /// Adds a study whose references point into this source.
    pub fn push_study(&mut self, study: Study) {
        self.studies.push(study);
    }
}

fn memory_index(r: &PixelRef, len: usize) -> Result<usize, GeometryError> {
    match r {
        PixelRef::Memory { index } if *index < len => Ok(*index),
        other => Err(GeometryError::ForeignPixelRef {
            reference: other.to_string(),
            source_kind: "in-memory",
        }),
    }
}

impl StudySource for MemorySource {
    fn studies(&self) -> &[Study] {
        &self.studies
    }

    fn load_image(&self, image: &PixelRef) -> Result<Array2<f32>, GeometryError> {
        Ok(self.images[memory_index(image, self.images.len())?].clone())
    }

    fn load_label(&self, label: &PixelRef) -> Result<Array2<u8>, GeometryError> {
        Ok(self.labels[memory_index(label, self.labels.len())?].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn foreign_or_out_of_range_refs_are_typed_errors() {
        let mut s = MemorySource::default();
        let r = s.push_image(Array2::zeros((2, 2)));
        assert!(s.load_image(&r).is_ok());
        assert!(matches!(
            s.load_image(&PixelRef::Memory { index: 1 }),
            Err(GeometryError::ForeignPixelRef { .. })
        ));
        assert!(matches!(
            s.load_label(&r),
            Err(GeometryError::ForeignPixelRef { .. })
        ));
        let dicom = PixelRef::Dicom {
            path: PathBuf::from("x.dcm"),
            frame: 0,
        };
        assert!(s.load_image(&dicom).is_err());
    }
}
