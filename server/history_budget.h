/*
 * history_budget.h - how much of a stored run a history page may carry.
 *
 * A page travels on as JSON (sce-gateway's GET /history), and JSON can
 * cost six times the text: a control byte is written as \u00XX.  Stored
 * runs keep 64 KiB of code, output and stderr each, so a page of 100 runs
 * full of control bytes would be over 100 MB.  The budget here bounds the
 * JSON an entry can grow into, whatever its text holds: every text field of
 * an entry together costs at most HISTORY_LIST_ENTRY_COST bytes once
 * escaped, by the most expensive escaping any JSON encoder uses (see
 * history_json_cost).  Fields within the budget are kept whole; when the
 * entry is over, the budget is shared out so that short fields stay whole
 * and the long ones split what is left (water-filling), each cut at a
 * character boundary.
 *
 * The figures, for a page of SCE_HISTORY_PAGE_MAX (100) entries:
 *   100 x (HISTORY_LIST_ENTRY_COST 9216 + HISTORY_LIST_ENTRY_FIXED 1024)
 *   + HISTORY_LIST_PAGE_FIXED 4096 = 1 028 096 bytes < 1 MiB (1 048 576),
 * where FIXED is what the gateway writes around the text (keys, numbers,
 * booleans, punctuation: about 420 bytes per entry today).
 *
 * What it does not do: read the database, or decide what a field means.
 * Pure functions, no allocation: the cuts are made in place.
 */
#ifndef SCE_HISTORY_BUDGET_H
#define SCE_HISTORY_BUDGET_H

#include <stddef.h>

#define HISTORY_LIST_ENTRY_COST 9216 /* escaped bytes of all text of one listed entry */
#define HISTORY_LIST_ENTRY_FIXED 1024 /* what a JSON entry holds besides its text, at most */
#define HISTORY_LIST_PAGE_FIXED 4096  /* what a JSON page holds besides its entries */
#define HISTORY_LIST_PAGE_JSON_MAX (1u << 20) /* the promise: a page is at most 1 MiB */

/* Bytes s[0..len) takes inside a JSON string when every character is
 * escaped as expensively as some encoder does: '"', '\\' and '/' 2; other
 * printable ASCII 1; control characters and DEL 6 (\u00XX); every non-ASCII
 * character 6 (\uXXXX), 12 above U+FFFF (a surrogate pair); an invalid byte
 * 6 (it would become \ufffd). */
size_t history_json_cost(const char *s, size_t len);

/* The longest prefix of s[0..len) that ends on a character boundary and
 * costs at most `budget`; its length in bytes. */
size_t history_cut_at(const char *s, size_t len, size_t budget);

/* Cuts the NUL-terminated strings fields[0..n) in place (by writing a NUL)
 * so that together they cost at most `budget`: if they already do, nothing
 * changes; otherwise each field gets min(its cost, a fair share of what the
 * shorter ones left).  NULL entries are skipped.  Returns 1 if any field was
 * cut, else 0. */
int history_budget_cut(char **fields, size_t n, size_t budget);

#endif
