#!/usr/bin/python3
"""Rampart benchmark corpus: synthetic, seeded, reproducible DICOM Part-10 files.

Run with Debian's interpreter (/usr/bin/python3: python3-pydicom + python3-numpy).

  gen-corpus.py --profile ct    --count 600    --seed 7 --out /tmp/rampart-bench/ct
  gen-corpus.py --profile index --count 100000 --seed 11 --out /tmp/rampart-bench/index
  gen-corpus.py --profile big   --mb 512       --seed 3 --out /tmp/rampart-bench/big

Profiles
  ct     CT studies of 60-70 instances (2-3 series), 512x512 16-bit MONOCHROME2, ~0.5 MB each.
  index  tiny 16x16 instances spread like a real archive: ~1,800 studies and ~660 patients per
         100k instances (the ratios scale with --count), modalities CT/MR/CR, StudyDates over
         2023-2025, one AccessionNumber per study, surnames from a fixed list in which two of
         ~100 names start with HER (so PatientName=HER* matches a few dozen studies at 100k).
  big    ONE multi-frame instance of about --mb megabytes (512x512 16-bit frames), for the
         "memory flat in the size of an upload" check. Not part of any corpus.

Layout: OUT/<study folder>/<series>-<instance>.dcm, one folder per study, plus OUT/manifest.json
(one entry per study: UIDs, patient, accession, modality, number of instances and bytes).
Everything (UIDs, names, dates, pixels) derives from --seed and the study's position, so the same
command line produces byte-identical files whatever the number of worker processes.
All data are synthetic (PatientIdentityRemoved=YES).
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import time
from multiprocessing import Pool

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4", "CR": "1.2.840.10008.5.1.4.1.1.1"}
MF_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
IMPL_CLASS_UID = "1.2.826.0.1.3680043.10.543.77"
IMPL_VERSION = "RAMPART_BENCH_1"

# 98 surnames; exactly two start with HER.
SURNAMES = [
    "ABBOTT", "ADAMS", "ALLEN", "ALVAREZ", "ANDERSEN", "BAKER", "BARNES", "BECKER", "BELL", "BERG",
    "BIANCHI", "BROOKS", "BROWN", "CAMPBELL", "CARTER", "CASTRO", "CHEN", "CLARK", "COLLINS", "COOPER",
    "CRUZ", "DAVIES", "DIAZ", "DUBOIS", "EDWARDS", "EVANS", "FERREIRA", "FISCHER", "FOSTER", "FRANCO",
    "GARCIA", "GOMEZ", "GRAHAM", "GREEN", "GUPTA", "HALL", "HANSEN", "HARRIS", "HAYES", "HERNANDEZ",
    "HERRERA", "HILL", "HOFFMANN", "HUGHES", "ITO", "JACKSON", "JENSEN", "JOHNSON", "JONES", "KELLER",
    "KIM", "KING", "KLEIN", "KOWALSKI", "KRAUSE", "LAMBERT", "LARSEN", "LEE", "LEROY", "LOPEZ",
    "MARTIN", "MEYER", "MILLER", "MORALES", "MORENO", "MORRIS", "MURPHY", "NAKAMURA", "NGUYEN", "NOWAK",
    "OKAFOR", "OLSEN", "ORTIZ", "PARK", "PATEL", "PEREIRA", "PETERSEN", "PRICE", "QUINN", "RAMOS",
    "REYES", "RICHTER", "ROSSI", "RUSSO", "SANTOS", "SATO", "SCHMIDT", "SCOTT", "SILVA", "SINGH",
    "STEWART", "TANAKA", "TAYLOR", "VOGEL", "WAGNER", "WALKER", "WEBER", "YILMAZ",
]
GIVEN_M = ["ADAM", "BRUNO", "CARLOS", "DAVID", "ERIK", "FELIX", "GEORGE", "HUGO", "IVAN", "JONAS",
           "KENJI", "LUCAS", "MARCO", "NOAH", "OSCAR", "PAUL", "RAFAEL", "SAMUEL", "TOMAS", "VIKTOR"]
GIVEN_F = ["ANNA", "BEATRIZ", "CLARA", "DIANA", "ELENA", "FATIMA", "GRACE", "HANNA", "IRIS", "JULIA",
           "KAREN", "LAURA", "MARIA", "NORA", "OLGA", "PRIYA", "ROSA", "SARA", "TERESA", "YUKI"]
PHYSICIANS = ["OSLER^WILLIAM", "APGAR^VIRGINIA", "LISTER^JOSEPH", "CURIE^MARIE", "HOUNSFIELD^GODFREY",
              "ROENTGEN^WILHELM", "BLACKWELL^ELIZABETH", "CUSHING^HARVEY"]
INSTITUTIONS = ["RAMPART GENERAL HOSPITAL", "NORTH VALLEY CLINIC", "SYNTHETIC IMAGING CENTER"]
STUDY_DESC = {
    "CT": ["CT CHEST W CONTRAST", "CT ABDOMEN PELVIS", "CT HEAD WO CONTRAST", "CT ANGIO CHEST", "CT SPINE LUMBAR"],
    "MR": ["MR BRAIN W WO CONTRAST", "MR KNEE LEFT", "MR LUMBAR SPINE", "MR SHOULDER RIGHT"],
    "CR": ["XR CHEST 2 VIEWS", "XR HAND RIGHT", "XR KNEE LEFT", "XR PELVIS"],
}
BODY_PART = {"CT CHEST W CONTRAST": "CHEST", "CT ABDOMEN PELVIS": "ABDOMEN", "CT HEAD WO CONTRAST": "HEAD",
             "CT ANGIO CHEST": "CHEST", "CT SPINE LUMBAR": "LSPINE", "MR BRAIN W WO CONTRAST": "BRAIN",
             "MR KNEE LEFT": "KNEE", "MR LUMBAR SPINE": "LSPINE", "MR SHOULDER RIGHT": "SHOULDER",
             "XR CHEST 2 VIEWS": "CHEST", "XR HAND RIGHT": "HAND", "XR KNEE LEFT": "KNEE", "XR PELVIS": "PELVIS"}
SERIES_DESC = {"CT": ["AXIAL 5MM", "AXIAL 1.25MM", "CORONAL MPR", "SCOUT"],
               "MR": ["T1 AX", "T2 SAG", "FLAIR AX", "DWI", "T1 POST COR"],
               "CR": ["PA", "LATERAL", "AP"]}
SERIES_RANGE = {"CT": (2, 3), "MR": (3, 5), "CR": (1, 2)}


def uid(seed, *parts):
    """A deterministic 2.25 UID (at most 44 characters) from the seed and a path of names."""
    h = hashlib.sha256(("%s|" % seed + "|".join(str(p) for p in parts)).encode()).digest()
    return "2.25." + str(int.from_bytes(h[:16], "big"))


def da(d):
    return d.strftime("%Y%m%d")


# ----------------------------------------------------------------------------------- planning
def plan(profile, count, seed):
    """The list of studies (dicts), each with its patient and its per-series instance counts."""
    rng = random.Random("%s:plan:%s" % (seed, profile))
    if profile == "ct":
        n_studies = max(1, round(count / 65))
        n_patients = n_studies
    else:
        n_studies = max(1, round(count * 1800 / 100000))
        n_patients = max(1, round(n_studies * 660 / 1800))
    patients = []
    for p in range(n_patients):
        sex = rng.choice("MF")
        patients.append({
            "PatientName": "%s^%s" % (rng.choice(SURNAMES), rng.choice(GIVEN_M if sex == "M" else GIVEN_F)),
            "PatientID": "RB%07d" % rng.randrange(10 ** 7),
            "PatientBirthDate": da(datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(30000))),
            "PatientSex": sex,
        })
    # PatientIDs must be unique: make the rare collision unique by appending the index.
    seen = set()
    for i, p in enumerate(patients):
        if p["PatientID"] in seen:
            p["PatientID"] = "RB%07dX%d" % (int(p["PatientID"][2:]), i)
        seen.add(p["PatientID"])

    # Instances per study: CT/MR weigh more than CR; every study gets at least 1.
    studies = []
    for s in range(n_studies):
        if profile == "ct":
            modality = "CT"
        else:
            modality = rng.choices(["CT", "MR", "CR"], weights=[5, 4, 2])[0]
        studies.append({"idx": s, "Modality": modality,
                        "patient": patients[s if s < n_patients else rng.randrange(n_patients)]})
    if profile == "ct":
        # 60-70 per study, the last study takes what remains (count need not be a multiple).
        left = count
        for i, st in enumerate(studies):
            n = rng.randint(60, 70) if i < len(studies) - 1 else left
            n = max(1, min(n, left - (len(studies) - 1 - i)))
            st["n"], left = n, left - n
        if left > 0:
            studies[-1]["n"] += left
    else:
        weight = {"CT": 1.5, "MR": 1.2, "CR": 0.15}
        w = [weight[st["Modality"]] * rng.uniform(0.5, 1.5) for st in studies]
        extra = count - n_studies
        tot = sum(w)
        alloc = [int(extra * x / tot) for x in w]
        rest = extra - sum(alloc)
        for i in sorted(range(n_studies), key=lambda i: -w[i])[:rest]:
            alloc[i] += 1
        for st, a in zip(studies, alloc):
            st["n"] = 1 + a
    start, span = datetime.date(2023, 1, 1), (datetime.date(2025, 12, 31) - datetime.date(2023, 1, 1)).days
    accs = set()
    for st in studies:
        st["StudyDate"] = da(start + datetime.timedelta(days=rng.randrange(span + 1)))
        st["StudyTime"] = "%02d%02d%02d" % (rng.randrange(7, 20), rng.randrange(60), rng.randrange(60))
        while True:
            acc = "A%09d" % rng.randrange(10 ** 9)
            if acc not in accs:
                break
        accs.add(acc)
        st["AccessionNumber"] = acc
        st["StudyDescription"] = rng.choice(STUDY_DESC[st["Modality"]])
        st["ReferringPhysicianName"] = rng.choice(PHYSICIANS)
        st["InstitutionName"] = rng.choice(INSTITUTIONS)
        st["StudyID"] = str(rng.randrange(1, 99999))
        st["StudyInstanceUID"] = uid(seed, profile, "study", st["idx"])
        lo, hi = SERIES_RANGE[st["Modality"]]
        k = min(st["n"], rng.randint(lo, hi))
        # split n over k series (each >= 1)
        cuts = sorted(rng.sample(range(1, st["n"]), k - 1)) if k > 1 else []
        bounds = [0] + cuts + [st["n"]]
        st["series"] = [bounds[i + 1] - bounds[i] for i in range(k)]
    return studies


# ------------------------------------------------------------------------------------ writing
def base_dataset(st, seed, profile):
    ds = Dataset()
    p = st["patient"]
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if st["Modality"] != "CR" else ["ORIGINAL", "PRIMARY"]
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = st["StudyDate"]
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = st["StudyTime"]
    ds.AccessionNumber = st["AccessionNumber"]
    ds.Modality = st["Modality"]
    ds.Manufacturer = "RAMPART BENCH"
    ds.InstitutionName = st["InstitutionName"]
    ds.ReferringPhysicianName = st["ReferringPhysicianName"]
    ds.StudyDescription = st["StudyDescription"]
    ds.PatientName = p["PatientName"]
    ds.PatientID = p["PatientID"]
    ds.PatientBirthDate = p["PatientBirthDate"]
    ds.PatientSex = p["PatientSex"]
    ds.PatientIdentityRemoved = "YES"
    ds.BodyPartExamined = BODY_PART[st["StudyDescription"]]
    ds.StudyInstanceUID = st["StudyInstanceUID"]
    ds.StudyID = st["StudyID"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    return ds


def finish(ds, sop_class, sop_uid, path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPL_CLASS_UID
    meta.ImplementationVersionName = IMPL_VERSION
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.preamble = b"\0" * 128
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def phantom(rng, size, z):
    """A CT-like slice: air, a body ellipse, some organs, bone ring, noise (values 0..4095)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    img = np.full((size, size), 24.0, np.float32)  # air (~ -1000 HU with intercept -1024)
    a, b = size * 0.42, size * 0.32 * (1 + 0.05 * np.sin(z / 9))
    body = ((x - c) / a) ** 2 + ((y - c) / b) ** 2 <= 1
    img[body] = 1064.0  # soft tissue ~ 40 HU
    ring = body & (((x - c) / (a * 0.92)) ** 2 + ((y - c) / (b * 0.9)) ** 2 > 1)
    img[ring] = 1900.0  # bone
    for k in range(3):
        ox, oy, r = c + (k - 1) * size * 0.18, c + np.sin(z / 7 + k) * size * 0.05, size * (0.05 + 0.02 * k)
        img[((x - ox) ** 2 + (y - oy) ** 2) <= r * r] = 900.0 + 80 * k
    img += rng.normal(0, 12, img.shape).astype(np.float32)
    return np.clip(img, 0, 4095).astype(np.uint16)


def write_study(args):
    st, seed, profile, out = args
    folder = os.path.join(out, "study-%05d" % st["idx"])
    os.makedirs(folder, exist_ok=True)
    nprng = np.random.default_rng([int(hashlib.sha256(str(seed).encode()).hexdigest()[:12], 16), st["idx"]])
    rng = random.Random("%s:%s:study:%d" % (seed, profile, st["idx"]))
    size = 512 if profile == "ct" else 16
    ds = base_dataset(st, seed, profile)
    nbytes, inst = 0, 0
    for si, n in enumerate(st["series"]):
        ds.SeriesInstanceUID = uid(seed, profile, "series", st["idx"], si)
        ds.SeriesNumber = si + 1
        ds.SeriesDescription = rng.choice(SERIES_DESC[st["Modality"]])
        ds.FrameOfReferenceUID = uid(seed, profile, "for", st["idx"])
        thick = rng.choice([1.25, 2.5, 5.0])
        for i in range(n):
            inst += 1
            ds.InstanceNumber = i + 1
            ds.AcquisitionNumber = 1
            ds.Rows = ds.Columns = size
            ds.PixelSpacing = ["%.4f" % (350.0 / size), "%.4f" % (350.0 / size)]
            if st["Modality"] != "CR":
                ds.SliceThickness = "%g" % thick
                ds.ImagePositionPatient = ["-175", "-175", "%.2f" % (-i * thick)]
                ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
                ds.SliceLocation = "%.2f" % (-i * thick)
            if st["Modality"] == "CT":
                ds.KVP = "120"
                ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
                ds.WindowCenter, ds.WindowWidth = "40", "400"
            else:
                ds.WindowCenter, ds.WindowWidth = "2048", "4096"
            pix = phantom(nprng, size, i) if size >= 64 else nprng.integers(0, 4096, (size, size), dtype=np.uint16)
            ds.PixelData = pix.tobytes()
            sop_uid = uid(seed, profile, "inst", st["idx"], si, i)
            path = os.path.join(folder, "%02d-%04d.dcm" % (si + 1, i + 1))
            finish(ds, SOP[st["Modality"]], sop_uid, path)
            nbytes += os.path.getsize(path)
    return st["idx"], inst, nbytes


def write_big(out, mb, seed):
    """One multi-frame 16-bit instance of about `mb` MB, pixel data written in chunks."""
    os.makedirs(out, exist_ok=True)
    frame = 512 * 512 * 2
    frames = max(1, (mb * 1000 * 1000) // frame)
    path = os.path.join(out, "big-%dmb.dcm" % mb)
    st = {"idx": 0, "Modality": "OT", "patient": {"PatientName": "BIGUPLOAD^TEST", "PatientID": "RBBIG0001",
                                                     "PatientBirthDate": "19700101", "PatientSex": "O"},
          "StudyDate": "20250101", "StudyTime": "120000", "AccessionNumber": "ABIG%05d" % mb,
          "StudyDescription": "CT CHEST W CONTRAST", "ReferringPhysicianName": "", "InstitutionName": INSTITUTIONS[0],
          "StudyID": "1", "StudyInstanceUID": uid(seed, "big", mb, "study")}
    ds = base_dataset(st, seed, "big")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "WSD"
    ds.SeriesInstanceUID = uid(seed, "big", mb, "series")
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 512
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # FrameTime
    ds.FrameTime = "40"
    # Write everything but PixelData with pydicom, then append (7FE0,0010) OW by hand so that
    # the pixels never sit in this process's memory at once.
    ds.PixelData = b""
    tmp = path + ".part"
    finish(ds, MF_WORD_SC, uid(seed, "big", mb, "inst"), tmp)
    length = frames * frame
    with open(tmp, "rb") as fh:
        data = fh.read()
    # drop the empty PixelData element pydicom wrote (tag + VR + 2 reserved + 4-byte length 0)
    empty = b"\xe0\x7f\x10\x00OW\x00\x00\x00\x00\x00\x00"
    if not data.endswith(empty):
        sys.exit("unexpected trailing element in %s" % tmp)
    rng = np.random.default_rng(seed)
    with open(tmp, "wb") as fh:
        fh.write(data[: -len(empty)])
        fh.write(b"\xe0\x7f\x10\x00OW\x00\x00" + length.to_bytes(4, "little"))
        chunk = rng.integers(0, 4096, frame * 8 // 2, dtype=np.uint16).tobytes()  # 8 frames, reused
        left = length
        while left > 0:
            n = min(left, len(chunk))
            fh.write(chunk[:n])
            left -= n
    os.replace(tmp, path)
    print(json.dumps({"path": path, "bytes": os.path.getsize(path), "frames": frames}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=["ct", "index", "big"], required=True)
    ap.add_argument("--count", type=int, help="instances (default: ct 600, index 100000)")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=int, default=512, help="size of the big instance (profile big)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    if a.profile == "big":
        write_big(a.out, a.mb, a.seed)
        return
    count = a.count or (600 if a.profile == "ct" else 100000)
    if count < 1 or count > 2_000_000:
        sys.exit("--count must be in 1..2,000,000")
    if os.path.exists(os.path.join(a.out, "manifest.json")):
        sys.exit("%s already holds a corpus (remove it first)" % a.out)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    studies = plan(a.profile, count, a.seed)
    jobs = [(st, a.seed, a.profile, a.out) for st in studies]
    done = {}
    def progress(k):
        if (k + 1) % max(1, len(jobs) // 10) == 0:
            print("  %d/%d studies, %.0f s" % (k + 1, len(jobs), time.time() - t0), file=sys.stderr)
    if a.workers <= 1:
        for k, job in enumerate(jobs):
            idx, n, nbytes = write_study(job)
            done[idx] = (n, nbytes)
            progress(k)
    else:
        with Pool(a.workers) as pool:
            for k, (idx, n, nbytes) in enumerate(pool.imap_unordered(write_study, jobs, chunksize=1)):
                done[idx] = (n, nbytes)
                progress(k)
    manifest = {
        "profile": a.profile, "seed": a.seed, "count": count, "generator": IMPL_VERSION,
        "studies": [{
            "folder": "study-%05d" % st["idx"], "StudyInstanceUID": st["StudyInstanceUID"],
            "PatientName": st["patient"]["PatientName"], "PatientID": st["patient"]["PatientID"],
            "StudyDate": st["StudyDate"], "AccessionNumber": st["AccessionNumber"], "Modality": st["Modality"],
            "series": len(st["series"]), "instances": done[st["idx"]][0], "bytes": done[st["idx"]][1],
        } for st in studies],
    }
    manifest["instances"] = sum(s["instances"] for s in manifest["studies"])
    manifest["bytes"] = sum(s["bytes"] for s in manifest["studies"])
    manifest["patients"] = len({s["PatientID"] for s in manifest["studies"]})
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print("%s: %d instances, %d studies, %d patients, %.1f MB in %.0f s" % (
        a.out, manifest["instances"], len(studies), manifest["patients"], manifest["bytes"] / 1e6, time.time() - t0))


if __name__ == "__main__":
    main()
