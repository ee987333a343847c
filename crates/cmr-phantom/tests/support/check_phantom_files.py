"""Independent check of cmr-phantom output with pydicom and SimpleITK.

Usage: python check_phantom_files.py FOLDER [FOLDER ...]

Each FOLDER is a subject folder (holding manifest.json) or a cohort folder (holding
cohort.json and subject folders). For every subject:

* every DICOM file listed in the manifest is read by pydicom (strict: preamble and file meta
  required) and checked: Explicit VR Little Endian, MR Image Storage, valid and unique UIDs,
  identity (patient, study, series, instance), geometry (ImagePositionPatient,
  ImageOrientationPatient, PixelSpacing to 1e-4 against the manifest), SliceThickness,
  TriggerTime, 12-bit pixels of shape (Rows, Columns);
* where the manifest says the true LV long axis crosses each short-axis slice, the pixel
  position it gives maps back to the same world point through the DICOM geometry (1e-4 mm);
* every NIfTI file is read by SimpleITK: the image origin and directions (ITK works in LPS)
  match the DICOM geometry of the first slice in file order, and label files hold only the
  documented label values.

Exit status 0 when everything holds; 1 with one line per failure otherwise; 3 when pydicom,
numpy or SimpleITK cannot be imported.
"""

import json
import os
import sys

try:
    import numpy as np
    import pydicom
    from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage
    import SimpleITK as sitk
except ImportError as e:  # pragma: no cover - reported to the caller
    print(f"missing Python module: {e}")
    sys.exit(3)

TOL_MM = 1e-4
LABELS = {"sa": {0, 1, 2, 3}, "la_2ch": {0, 1}, "la_3ch": {0, 1, 2}, "la_4ch": {0, 1, 2}}


def subject_folders(folder):
    if os.path.isfile(os.path.join(folder, "manifest.json")):
        return [folder]
    cohort = os.path.join(folder, "cohort.json")
    if os.path.isfile(cohort):
        with open(cohort) as f:
            data = json.load(f)
        return [os.path.join(folder, s["subject_id"]) for s in data["subjects"]]
    raise SystemExit(f"{folder}: neither manifest.json nor cohort.json")


def pixel_to_world(ipp, iop, ps, r, c):
    row_dir = np.array(iop[:3])
    col_dir = np.array(iop[3:])
    return np.array(ipp) + c * ps[1] * row_dir + r * ps[0] * col_dir


def check_dicom(folder, manifest, errors):
    seen = set()
    count = 0
    for rec in manifest["series"]:
        for phase, rel in enumerate(rec["dicom_files"]):
            path = os.path.join(folder, rel)
            where = f"{manifest['subject_id']} {rel}"
            try:
                ds = pydicom.dcmread(path)
            except Exception as e:  # noqa: BLE001 - any reader error is a failure
                errors.append(f"{where}: pydicom cannot read it: {e}")
                continue
            count += 1
            meta = ds.file_meta
            if meta.TransferSyntaxUID != ExplicitVRLittleEndian:
                errors.append(f"{where}: transfer syntax {meta.TransferSyntaxUID}")
            if meta.MediaStorageSOPClassUID != MRImageStorage or ds.SOPClassUID != MRImageStorage:
                errors.append(f"{where}: not MR Image Storage")
            if meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
                errors.append(f"{where}: meta and data set SOPInstanceUID differ")
            for name in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID",
                         "FrameOfReferenceUID"):
                if not UID(getattr(ds, name)).is_valid:
                    errors.append(f"{where}: invalid {name} {getattr(ds, name)}")
            if ds.SOPInstanceUID in seen:
                errors.append(f"{where}: duplicate SOPInstanceUID")
            seen.add(ds.SOPInstanceUID)
            expect = {
                "Modality": "MR",
                "PatientID": manifest["patient_id"],
                "StudyInstanceUID": manifest["study_instance_uid"],
                "FrameOfReferenceUID": manifest["frame_of_reference_uid"],
                "SeriesInstanceUID": rec["series_instance_uid"],
                "SeriesDescription": rec["description"],
            }
            for name, value in expect.items():
                if str(getattr(ds, name)) != value:
                    errors.append(f"{where}: {name} {getattr(ds, name)!r} != {value!r}")
            if int(ds.SeriesNumber) != rec["series_number"] or int(ds.InstanceNumber) != phase + 1:
                errors.append(f"{where}: SeriesNumber/InstanceNumber")
            checks = [
                ("ImagePositionPatient", rec["image_position_patient"]),
                ("ImageOrientationPatient", rec["image_orientation_patient"]),
                ("PixelSpacing", rec["pixel_spacing_mm"]),
            ]
            for name, value in checks:
                got = [float(v) for v in getattr(ds, name)]
                if max(abs(a - b) for a, b in zip(got, value)) > TOL_MM:
                    errors.append(f"{where}: {name} {got} != {value}")
            if abs(float(ds.SliceThickness) - rec["slice_thickness_mm"]) > 1e-9:
                errors.append(f"{where}: SliceThickness {ds.SliceThickness}")
            if abs(float(ds.TriggerTime) - manifest["trigger_times_ms"][phase]) > 1e-6:
                errors.append(f"{where}: TriggerTime {ds.TriggerTime}")
            px = ds.pixel_array
            if px.shape != (ds.Rows, ds.Columns) or px.shape != (rec["rows"], rec["columns"]):
                errors.append(f"{where}: pixel array {px.shape}")
            if px.dtype != np.uint16 or px.max() > 4095 or int(ds.BitsStored) != 12:
                errors.append(f"{where}: pixels not 12-bit unsigned ({px.dtype}, max {px.max()})")
            crossing = rec.get("lv_axis_crossing")
            if crossing is not None and phase == 0:
                r, c = crossing["pixel"]
                world = pixel_to_world(
                    [float(v) for v in ds.ImagePositionPatient],
                    [float(v) for v in ds.ImageOrientationPatient],
                    [float(v) for v in ds.PixelSpacing], r, c)
                if np.max(np.abs(world - np.array(crossing["world_mm"]))) > TOL_MM:
                    errors.append(f"{where}: LV axis crossing {world} != {crossing['world_mm']}")
    return count


def check_nifti(folder, manifest, errors):
    nifti = os.path.join(folder, "nifti")
    if not os.path.isdir(nifti):
        return 0
    by_view = {}
    for rec in manifest["series"]:
        stem = {"SA": "sa", "2Ch": "la_2ch", "3Ch": "la_3ch", "4Ch": "la_4ch"}[
            {"ShortAxis": "SA", "TwoChamber": "2Ch", "ThreeChamber": "3Ch",
             "FourChamber": "4Ch"}[rec["view"]]]
        by_view.setdefault(stem, []).append(rec)
    count = 0
    for name in sorted(os.listdir(nifti)):
        if not name.endswith(".nii.gz"):
            continue
        path = os.path.join(nifti, name)
        where = f"{manifest['subject_id']} nifti/{name}"
        img = sitk.ReadImage(path)
        count += 1
        stem = name[len("label_"):] if name.startswith("label_") else name
        stem = stem[: -len(".nii.gz")]
        for suffix in ("_ED", "_ES"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
        recs = by_view[stem]
        dim = img.GetDimension()
        direction = np.array(img.GetDirection()).reshape(dim, dim)[:3, :3]
        origin = np.array(img.GetOrigin()[:3])
        spacing = img.GetSpacing()
        # The first voxel is pixel (0, 0) of one of the view's slices.
        match = [r for r in recs
                 if np.max(np.abs(origin - np.array(r["image_position_patient"]))) < 1e-3]
        if not match:
            errors.append(f"{where}: origin {origin} is no slice's ImagePositionPatient")
            continue
        iop = match[0]["image_orientation_patient"]
        if np.max(np.abs(direction[:, 0] - np.array(iop[:3]))) > 1e-5 or \
                np.max(np.abs(direction[:, 1] - np.array(iop[3:]))) > 1e-5:
            errors.append(f"{where}: directions {direction[:, :2].T} != {iop}")
        ps = match[0]["pixel_spacing_mm"]
        if abs(spacing[0] - ps[1]) > 1e-5 or abs(spacing[1] - ps[0]) > 1e-5:
            errors.append(f"{where}: spacing {spacing[:2]} != {ps[::-1]}")
        size = img.GetSize()
        if size[0] != match[0]["columns"] or size[1] != match[0]["rows"] or size[2] != len(recs):
            errors.append(f"{where}: size {size}")
        if stem == "sa" and abs(spacing[2] - manifest["config"]["sa_slice_spacing_mm"]) > 1e-4:
            errors.append(f"{where}: slice spacing {spacing[2]}")
        if name.startswith("label_"):
            values = set(np.unique(sitk.GetArrayViewFromImage(img)).astype(int).tolist())
            if not values <= LABELS[stem] or values == {0}:
                errors.append(f"{where}: label values {sorted(values)}")
    return count


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    errors = []
    subjects = dicom = nifti = 0
    for folder in argv[1:]:
        for subject in subject_folders(folder):
            with open(os.path.join(subject, "manifest.json")) as f:
                manifest = json.load(f)
            subjects += 1
            dicom += check_dicom(subject, manifest, errors)
            nifti += check_nifti(subject, manifest, errors)
    for e in errors[:50]:
        print(f"FAIL {e}")
    status = "OK" if not errors else f"{len(errors)} failures"
    print(f"pydicom {pydicom.__version__} and SimpleITK {sitk.Version_VersionString()}: "
          f"{dicom} DICOM files and {nifti} NIfTI files of {subjects} subjects: {status}")
    return 0 if not errors and dicom > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
