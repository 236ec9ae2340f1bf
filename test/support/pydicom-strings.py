#!/usr/bin/python3
"""Prints, as one JSON document, the raw bytes and pydicom's decoded text of every text element
(PN, LO, SH, ST, LT, UT, UC, also inside sequences) of pydicom's charset_files test data, so that
src/dicom/charset.test.ts can check our decoder against pydicom's on real files.

Run with Debian's /usr/bin/python3 (python3-pydicom). Usage: pydicom-strings.py [dir]
It also decodes, with pydicom, a few byte strings for character sets that no file uses (VECTORS
below: bytes from PS3.5's annexes and from pydicom's own charset tests).
Output: {"pydicom": version, "files": [{"file", "error"?, "elements": [{"path", "vr",
"charset": [...], "raw": base64, "decoded": str}]}], "vectors": [{"id", "vr", "charset", "raw",
"decoded"}]}
"""
import base64
import glob
import json
import os
import sys
import warnings

import pydicom
from pydicom.charset import decode_element
from pydicom.dataelem import DataElement
from pydicom.datadict import dictionary_VR

TEXT_VRS = {'PN', 'LO', 'SH', 'ST', 'LT', 'UT', 'UC'}
DEFAULT_DIR = os.path.join(os.path.dirname(pydicom.__file__), 'data', 'charset_files')


# (id, Specific Character Set, VR, raw bytes)
VECTORS = [
    ('ISO_IR 101', ['ISO_IR 101'], 'PN', b'Wa\xb3\xeasa'),
    ('ISO_IR 109', ['ISO_IR 109'], 'LO', b'anta\xfdnomo'),
    ('ISO_IR 110', ['ISO_IR 110'], 'LO', b'v\xe0rds'),
    ('ISO_IR 148', ['ISO_IR 148'], 'PN', b'\xc7avu\xfeo\xf0lu'),
    ('ISO_IR 166', ['ISO_IR 166'], 'LO', b'\xb9\xd2\xc1\xca\xa1\xd8\xc5'),
    ('ISO_IR 13', ['ISO_IR 13'], 'PN', b'\xd4\xcf\xc0\xde^\xc0\xdb\xb3'),
    ('ISO 2022 IR 13', ['ISO 2022 IR 13'], 'PN', b'\x1b)I\xd4\xcf\xc0\xde^\x1b)I\xc0\xdb\xb3'),
    ('ISO 2022 IR 100', ['ISO 2022 IR 100'], 'PN', b'\x1b-ABuc^\x1b-AJ\xe9r\xf4me'),
    ('ISO 2022 IR 101', ['ISO 2022 IR 101'], 'PN', b'\x1b-BWa\xb3\xeasa'),
    ('ISO 2022 IR 109', ['ISO 2022 IR 109'], 'LO', b'\x1b-Canta\xfdnomo'),
    ('ISO 2022 IR 110', ['ISO 2022 IR 110'], 'LO', b'\x1b-Dv\xe0rds'),
    ('ISO 2022 IR 126', ['ISO 2022 IR 126'], 'PN', b'\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2'),
    ('ISO 2022 IR 127', ['ISO 2022 IR 127'], 'PN', b'\x1b-G\xe2\xc8\xc7\xe6\xea^\x1b-G\xe4\xe6\xd2\xc7\xd1'),
    ('ISO 2022 IR 138', ['ISO 2022 IR 138'], 'PN', b'\x1b-H\xf9\xf8\xe5\xef^\x1b-H\xe3\xe1\xe5\xf8\xe4'),
    ('ISO 2022 IR 144', ['ISO 2022 IR 144'], 'PN', b'\x1b-L\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3'),
    ('ISO 2022 IR 148', ['ISO 2022 IR 148'], 'PN', b'\x1b-M\xc7\x61\x76\x75\xfe\x6f\xf0\x6c\x75'),
    ('ISO 2022 IR 166', ['ISO 2022 IR 166'], 'LO', b'\x1b-T\xb9\xd2\xc1\xca\xa1\xd8\xc5'),
    ('G1 switch 100 -> 144', ['ISO 2022 IR 100', 'ISO 2022 IR 144'], 'LO', b'\x1b-AJ\xe9r\xf4me \x1b-L\xbb\xee\xda\xe1'),
    ('ISO 2022 IR 159 (Mori Ogai)', ['ISO 2022 IR 6', 'ISO 2022 IR 87', 'ISO 2022 IR 159'], 'PN',
     b'Mori^Ogai=\x1b$B?9\x1b(B^\x1b$(Dl?\x1b$B30\x1b(B=\x1b$B$b$j\x1b(B^\x1b$B$*$&$,$$\x1b(B'),
    ('JIS X 0201 + 0208 + 0212 mixed', ['ISO 2022 IR 13', 'ISO 2022 IR 87', 'ISO 2022 IR 159'], 'LO',
     b'\x1b$B$"\x1b(Ja\x1b)I\xb1\x1b$B%"\x1b$(DmN\x1b(J'),
    ('KS X 1001 multi-valued', ['', 'ISO 2022 IR 149'], 'LO',
     b'\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf\\\x1b$)C\xc8\xab\xb1\xe6\xb5\xbf'),
    # PS3.5 Annex K.2 (GB 2312 with code extensions)
    ('ISO 2022 IR 58 (PS3.5 K.2)', ['ISO 2022 IR 6', 'ISO 2022 IR 58'], 'PN',
     b'Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab='),
    ('GBK', ['GBK'], 'PN', b'Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab='),
    # U+4E57 is 0x81 0x5C in GBK/GB18030: its second byte is a backslash
    ('GB18030 trail byte 0x5C', ['GB18030'], 'LO', b'\x81\x5c\\x'),
]


def decode_vector(charset, vr, raw):
    elem = DataElement(0x00100010 if vr == 'PN' else 0x00081030, vr, raw)
    decode_element(elem, charset)
    return decoded_text(elem.value)


def charset_of(ds, inherited):
    """The Specific Character Set in force in ds (PS3.5 7.5.3: items inherit it from the parent)."""
    raw = ds.get_item(0x00080005)
    if raw is None:
        return inherited
    value = raw.value
    if isinstance(value, bytes):
        return [v.strip() for v in value.decode('ascii').split('\\')]
    if isinstance(value, str):
        return [value.strip()]
    return [str(v).strip() for v in value]


def vr_of(elem):
    vr = elem.VR
    if vr is None:
        try:
            vr = dictionary_VR(elem.tag)
        except KeyError:
            return None
    return str(vr)


def decoded_text(value):
    if isinstance(value, (list, tuple)) or type(value).__name__ == 'MultiValue':
        return '\\'.join(str(v) for v in value)
    return str(value)


def walk(raw_ds, dec_ds, charset, path, out):
    charset = charset_of(raw_ds, charset)
    for raw_elem in list(raw_ds.elements()):
        tag = raw_elem.tag
        vr = vr_of(raw_elem)
        where = path + ['%08X' % int(tag)]
        if vr == 'SQ':
            raw_items = raw_ds[tag].value
            dec_items = dec_ds[tag].value
            for i, (ri, di) in enumerate(zip(raw_items, dec_items)):
                walk(ri, di, charset, where + [str(i)], out)
        elif vr in TEXT_VRS:
            raw = raw_elem.value
            if not isinstance(raw, bytes):
                raise TypeError('element %s is not raw' % '/'.join(where))
            out.append({
                'path': '/'.join(where),
                'vr': vr,
                'charset': charset,
                'raw': base64.b64encode(raw).decode('ascii'),
                'decoded': decoded_text(dec_ds[tag].value) if raw else '',
            })


def main():
    warnings.simplefilter('ignore')  # pydicom warns on the vectors it cannot decode; the test says why
    folder = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR
    files = []
    for name in sorted(glob.glob(os.path.join(folder, '*.dcm'))):
        entry = {'file': os.path.basename(name)}
        try:
            raw_ds = pydicom.dcmread(name)
            dec_ds = pydicom.dcmread(name)
            dec_ds.decode()
            elements = []
            walk(raw_ds, dec_ds, [''], [], elements)
            entry['elements'] = elements
        except Exception as e:  # reported, so that the test can name why a file was skipped
            entry['error'] = '%s: %s' % (type(e).__name__, e)
        files.append(entry)
    vectors = []
    for ident, charset, vr, raw in VECTORS:
        vectors.append({'id': ident, 'vr': vr, 'charset': charset,
                        'raw': base64.b64encode(raw).decode('ascii'),
                        'decoded': decode_vector(charset, vr, raw)})
    json.dump({'pydicom': pydicom.__version__, 'files': files, 'vectors': vectors}, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main()
