#!/usr/bin/env python3
"""spdx-check.py FILE: check that FILE is an SPDX 2.3 JSON document.

NOT the official SPDX 2.3 JSON schema: that schema is not shipped by any
Debian 12 package and the test machines have no network.  These are the
schema's required members, types and enumerations, and the spec's rules on
identifiers, written out by hand from the SPDX 2.3 specification (clauses
6 document creation, 7 package, 11 relationships) for the members kiln
writes; unknown members are refused as the schema's additionalProperties
would.  Prints one line per problem; exit 0 when there is none."""
import json, re, sys

problems = []


def bad(msg):
    problems.append(msg)


def want(obj, key, typ, where, required=True):
    if key not in obj:
        if required:
            bad(f"{where}: missing required '{key}'")
        return None
    if not isinstance(obj[key], typ) or (typ is int and isinstance(obj[key], bool)):
        bad(f"{where}.{key}: not a {typ.__name__}")
        return None
    return obj[key]


DOC_KEYS = {"SPDXID", "annotations", "comment", "creationInfo", "dataLicense",
            "externalDocumentRefs", "hasExtractedLicensingInfos", "name", "revieweds",
            "spdxVersion", "documentNamespace", "documentDescribes", "packages", "files",
            "snippets", "relationships"}
CREATION_KEYS = {"comment", "created", "creators", "licenseListVersion"}
PKG_KEYS = {"SPDXID", "annotations", "attributionTexts", "builtDate", "checksums", "comment",
            "copyrightText", "description", "downloadLocation", "externalRefs", "filesAnalyzed",
            "hasFiles", "homepage", "licenseComments", "licenseConcluded", "licenseDeclared",
            "licenseInfoFromFiles", "name", "originator", "packageFileName",
            "packageVerificationCode", "primaryPackagePurpose", "releaseDate", "sourceInfo",
            "summary", "supplier", "validUntilDate", "versionInfo"}
CHECKSUM_ALGS = {"SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128,
                 "SHA3-256": 64, "SHA3-384": 96, "SHA3-512": 128, "BLAKE2b-256": 64,
                 "BLAKE2b-384": 96, "BLAKE2b-512": 128, "BLAKE3": None, "MD2": 32, "MD4": 32,
                 "MD5": 32, "MD6": None, "ADLER32": 8, "SM3": 64}
PURPOSES = {"APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING-SYSTEM", "DEVICE",
            "FIRMWARE", "SOURCE", "ARCHIVE", "FILE", "INSTALL", "OTHER"}
REF_CATEGORIES = {"OTHER", "PERSISTENT-ID", "PERSISTENT_ID", "SECURITY", "PACKAGE-MANAGER",
                  "PACKAGE_MANAGER"}
RELATIONSHIPS = {
    "VARIANT_OF", "COPY_OF", "PATCH_FOR", "TEST_DEPENDENCY_OF", "CONTAINED_BY", "DATA_FILE_OF",
    "OPTIONAL_COMPONENT_OF", "ANCESTOR_OF", "GENERATES", "CONTAINS", "OPTIONAL_DEPENDENCY_OF",
    "FILE_ADDED", "REQUIREMENT_DESCRIPTION_FOR", "DEV_DEPENDENCY_OF", "DEPENDENCY_OF",
    "BUILD_DEPENDENCY_OF", "DESCRIBES", "PREREQUISITE_FOR", "HAS_PREREQUISITE", "PROVIDED_DEPENDENCY_OF",
    "DYNAMIC_LINK", "DESCRIBED_BY", "METAFILE_OF", "DEPENDENCY_MANIFEST_OF", "PATCH_APPLIED",
    "RUNTIME_DEPENDENCY_OF", "TEST_OF", "TEST_TOOL_OF", "DEPENDS_ON", "SPECIFICATION_FOR",
    "FILE_MODIFIED", "DISTRIBUTION_ARTIFACT", "AMENDS", "DOCUMENTATION_OF", "GENERATED_FROM",
    "STATIC_LINK", "OTHER", "BUILD_TOOL_OF", "TEST_CASE_OF", "PACKAGE_OF", "DESCENDANT_OF",
    "FILE_DELETED", "EXPANDED_FROM_ARCHIVE", "DEV_TOOL_OF", "EXAMPLE_OF"}
SPDXID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CREATOR = re.compile(r"^(Person|Organization|Tool): .+")
DOWNLOAD = re.compile(r"^(NONE|NOASSERTION|[a-z][a-z0-9+.\-]*://\S+|git\+\S+|hg\+\S+|svn\+\S+|bzr\+\S+)$")
PURL = re.compile(r"^pkg:[a-z][a-z0-9.+\-]*/\S+@\S+$")


def check(doc):
    if not isinstance(doc, dict):
        bad("the document is not a JSON object")
        return
    for k in doc:
        if k not in DOC_KEYS:
            bad(f"document: unknown member '{k}'")
    if want(doc, "spdxVersion", str, "document") != "SPDX-2.3":
        bad("spdxVersion is not SPDX-2.3")
    if want(doc, "dataLicense", str, "document") != "CC0-1.0":
        bad("dataLicense is not CC0-1.0")
    if want(doc, "SPDXID", str, "document") != "SPDXRef-DOCUMENT":
        bad("the document's SPDXID is not SPDXRef-DOCUMENT")
    if not want(doc, "name", str, "document"):
        bad("document: empty name")
    ns = want(doc, "documentNamespace", str, "document")
    if ns is not None and (not re.match(r"^[a-z][a-z0-9+.\-]*://\S+$", ns) or "#" in ns):
        bad(f"documentNamespace '{ns}' is not an absolute URI without '#'")
    ci = want(doc, "creationInfo", dict, "document")
    if ci is not None:
        for k in ci:
            if k not in CREATION_KEYS:
                bad(f"creationInfo: unknown member '{k}'")
        created = want(ci, "created", str, "creationInfo")
        if created is not None and not DATETIME.match(created):
            bad(f"creationInfo.created '{created}' is not YYYY-MM-DDThh:mm:ssZ")
        creators = want(ci, "creators", list, "creationInfo")
        if creators is not None:
            if not creators:
                bad("creationInfo.creators is empty")
            for c in creators:
                if not isinstance(c, str) or not CREATOR.match(c):
                    bad(f"creator '{c}' is not 'Person|Organization|Tool: ...'")
    ids = {"SPDXRef-DOCUMENT"}
    for i, p in enumerate(want(doc, "packages", list, "document", required=False) or []):
        where = f"packages[{i}]"
        if not isinstance(p, dict):
            bad(f"{where}: not an object")
            continue
        for k in p:
            if k not in PKG_KEYS:
                bad(f"{where}: unknown member '{k}'")
        pid = want(p, "SPDXID", str, where)
        if pid is not None:
            if not SPDXID.match(pid):
                bad(f"{where}: SPDXID '{pid}' does not match {SPDXID.pattern}")
            if pid in ids:
                bad(f"{where}: SPDXID '{pid}' is not unique")
            ids.add(pid)
        if not want(p, "name", str, where):
            bad(f"{where}: empty name")
        dl = want(p, "downloadLocation", str, where)
        if dl is not None and not DOWNLOAD.match(dl):
            bad(f"{where}: downloadLocation '{dl}' is not NONE, NOASSERTION or a URL")
        for k in ("versionInfo", "sourceInfo", "description", "comment", "copyrightText",
                  "licenseConcluded", "licenseDeclared", "summary", "homepage"):
            want(p, k, str, where, required=False)
        fa = want(p, "filesAnalyzed", bool, where, required=False)
        if fa is False and "packageVerificationCode" in p:
            bad(f"{where}: packageVerificationCode with filesAnalyzed false")
        purpose = want(p, "primaryPackagePurpose", str, where, required=False)
        if purpose is not None and purpose not in PURPOSES:
            bad(f"{where}: primaryPackagePurpose '{purpose}' is not one of SPDX 2.3's")
        for j, c in enumerate(want(p, "checksums", list, where, required=False) or []):
            cw = f"{where}.checksums[{j}]"
            alg = want(c, "algorithm", str, cw)
            val = want(c, "checksumValue", str, cw)
            if alg is not None and alg not in CHECKSUM_ALGS:
                bad(f"{cw}: algorithm '{alg}' is not one of SPDX 2.3's")
            elif alg and val is not None:
                n = CHECKSUM_ALGS[alg]
                if not re.match(r"^[0-9a-f]+$", val) or (n and len(val) != n):
                    bad(f"{cw}: '{val}' is not {n} lower-case hex digits for {alg}")
        for j, r in enumerate(want(p, "externalRefs", list, where, required=False) or []):
            rw = f"{where}.externalRefs[{j}]"
            cat = want(r, "referenceCategory", str, rw)
            typ = want(r, "referenceType", str, rw)
            loc = want(r, "referenceLocator", str, rw)
            if cat is not None and cat not in REF_CATEGORIES:
                bad(f"{rw}: referenceCategory '{cat}' is not one of SPDX 2.3's")
            if typ == "purl" and loc is not None and not PURL.match(loc):
                bad(f"{rw}: '{loc}' is not a purl")
            if loc is not None and re.search(r"\s", loc):
                bad(f"{rw}: referenceLocator contains spaces")
    described = False
    for i, r in enumerate(want(doc, "relationships", list, "document", required=False) or []):
        where = f"relationships[{i}]"
        a = want(r, "spdxElementId", str, where)
        t = want(r, "relationshipType", str, where)
        b = want(r, "relatedSpdxElement", str, where)
        if t is not None and t not in RELATIONSHIPS:
            bad(f"{where}: relationshipType '{t}' is not one of SPDX 2.3's")
        for e in (a, b):
            if e is not None and e not in ids and e not in ("NONE", "NOASSERTION"):
                bad(f"{where}: '{e}' is no element of the document")
        if a == "SPDXRef-DOCUMENT" and t == "DESCRIBES":
            described = True
    if not described and not doc.get("documentDescribes"):
        bad("the document DESCRIBES nothing")


try:
    with open(sys.argv[1]) as f:
        check(json.load(f))
except (OSError, ValueError) as e:
    bad(f"{sys.argv[1]}: {e}")
for p in problems:
    print(f"spdx-check: {p}")
sys.exit(1 if problems else 0)
