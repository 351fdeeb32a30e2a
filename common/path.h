/*
 * path.h - the rules for a file path inside a code bundle, shared by the
 * server (which checks every RunProject request) and libsce (which checks
 * a directory or a ZIP before anything is sent), so both refuse the same
 * paths with the same words.
 */
#ifndef SCE_PATH_H
#define SCE_PATH_H

#define SCE_PATH_MAX_BYTES 255 /* one bundle path, in bytes */

/* Checks one bundle path: relative, '/'-separated, valid UTF-8, no empty,
 * "." or ".." segment, no backslash or control character, at most
 * SCE_PATH_MAX_BYTES.  Returns NULL if fine, else a reason that reads after
 * the path ("'../x' has a '..' segment"); NULL counts as empty. */
const char *sce_path_problem(const char *path);

/* How two paths of one bundle clash: not at all (0), the same path
 * (SCE_PATH_SAME), or one a directory of the other, "a" and "a/b"
 * (SCE_PATH_NESTED): either way both cannot be files. */
enum { SCE_PATH_SAME = 1, SCE_PATH_NESTED = 2 };
int sce_path_clash(const char *a, const char *b);

#endif
