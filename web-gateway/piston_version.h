/*
 * piston_version.h - whether a language version satisfies a version range
 * as Piston's clients write them (Piston asks npm's semver; this is the
 * subset its clients use), for GET /api/v2/connect and Piston's other
 * routes.
 *
 * Ranges: "*", "x", "" (any); partial versions, which match every version
 * they are a prefix of ("3", "3.x", "3.11", "3.11.*", "=3.11.2"); caret
 * and tilde ("^3.10": >=3.10.0 <4.0.0, "^0.2.1": <0.3.0, "~3.11": <3.12.0);
 * comparators (">=3.10", "<4", ">3.11.1", "<=3.12"); comparators joined by
 * blanks all hold; alternatives are joined by "||".  A leading "v" is
 * accepted on both sides.  Versions compare by major.minor.patch only: a
 * pre-release or build suffix ("-alpha.7", "+b1") is ignored, as sce's
 * versions have none.
 *
 * What it does not do: hyphen ranges ("1.2 - 2.3"), pre-release ordering,
 * choosing among several versions (sce has one per language).  Anything
 * it cannot read does not match, as semver.satisfies answers false.
 *
 * Pure: no allocation, no state, any thread.
 */
#ifndef SCE_GATEWAY_PISTON_VERSION_H
#define SCE_GATEWAY_PISTON_VERSION_H

/* 1 if `version` ("3.11.2", "v24.3.0") satisfies `range`, else 0 (also
 * for a malformed range or version, or NULL). */
int piston_version_match(const char *range, const char *version);

#endif
