#!/usr/bin/python3
# Prints, as JSON, the identifying UIDs of pydicom's sample files and which of pydicom's sample files are valid DICOM Part 10 objects by an
# independent reading (pydicom's): a preamble and "DICM", file meta with Transfer Syntax UID and
# Media Storage SOP Instance UID (which real files
# sometimes get wrong: the data set's UID is the one that counts), the four identifying UIDs in the data set, every element
# readable. Used by Rampart's tests as the oracle for what must be accepted.
import json, os, sys, warnings
warnings.simplefilter("ignore")
import pydicom

def valid(path):
    try:
        with open(path, "rb") as f:
            head = f.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            return "no DICM prefix"
        ds = pydicom.dcmread(path)
        fm = ds.file_meta
        if "TransferSyntaxUID" not in fm or "MediaStorageSOPInstanceUID" not in fm:
            return "file meta incomplete"
        for kw in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
            if kw not in ds or not str(ds[kw].value).strip():
                return "missing " + kw
        for elem in ds.iterall():
            _ = elem.value
        if "PixelData" in ds:
            _ = ds.PixelData
        return None
    except Exception as e:  # any parse failure means "not valid"
        return type(e).__name__

def uids(path):
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return [str(ds.get(k, "")) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")]
    except Exception:
        return ["", "", ""]

out = {}
for d in sys.argv[1:]:
    for name in sorted(os.listdir(d)):
        if name.endswith(".dcm"):
            path = os.path.join(d, name)
            out[path] = {"invalid": valid(path), "uids": uids(path)}
print(json.dumps(out))
