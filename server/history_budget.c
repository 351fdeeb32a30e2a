/*
 * history_budget.c - the JSON cost of stored text and the cuts that keep a
 * history page within its budget (see history_budget.h).
 */
#include "history_budget.h"

#include <string.h>

#include "common/utf8.h"

/* The cost of the character at s (seq bytes long, 0 for an invalid byte). */
static size_t char_cost(const unsigned char *s, size_t seq)
{
    if (seq == 0)
        return 6;
    if (seq == 4)
        return 12;
    if (seq > 1 || s[0] < 0x20 || s[0] == 0x7f)
        return 6;
    if (s[0] == '"' || s[0] == '\\' || s[0] == '/')
        return 2;
    return 1;
}

size_t history_json_cost(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, cost = 0;

    while (i < len) {
        size_t seq = sce_utf8_seq(u + i, len - i);

        cost += char_cost(u + i, seq);
        i += seq > 0 ? seq : 1;
    }
    return cost;
}

size_t history_cut_at(const char *s, size_t len, size_t budget)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, cost = 0;

    while (i < len) {
        size_t seq = sce_utf8_seq(u + i, len - i);
        size_t c = char_cost(u + i, seq);

        if (cost + c > budget)
            break;
        cost += c;
        i += seq > 0 ? seq : 1;
    }
    return i;
}

#define BUDGET_FIELDS_MAX 16

int history_budget_cut(char **fields, size_t n, size_t budget)
{
    size_t cost[BUDGET_FIELDS_MAX], order[BUDGET_FIELDS_MAX], alloc[BUDGET_FIELDS_MAX];
    size_t total = 0, m = 0, remaining = budget;
    int cut = 0;

    if (n > BUDGET_FIELDS_MAX)
        n = BUDGET_FIELDS_MAX;
    for (size_t i = 0; i < n; i++) {
        cost[i] = fields[i] != NULL ? history_json_cost(fields[i], strlen(fields[i])) : 0;
        total += cost[i];
        if (fields[i] == NULL)
            continue;
        /* Insertion by cost, cheapest first. */
        size_t j = m++;
        while (j > 0 && cost[order[j - 1]] > cost[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    if (total <= budget)
        return 0;
    /* The cheapest fields take what they need up to an equal share of what
     * is left; the share of those that need less goes to the others. */
    for (size_t k = 0; k < m; k++) {
        size_t i = order[k], share = remaining / (m - k);

        alloc[i] = cost[i] < share ? cost[i] : share;
        remaining -= alloc[i];
    }
    for (size_t k = 0; k < m; k++) {
        size_t i = order[k];

        if (cost[i] <= alloc[i])
            continue;
        fields[i][history_cut_at(fields[i], strlen(fields[i]), alloc[i])] = '\0';
        cut = 1;
    }
    return cut;
}
