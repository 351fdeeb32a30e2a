/*
 * client_key.c - addresses into the per-client key of client_key.h.  One
 * copy, used by the rate limiter (rate_limit.c) and by the connection caps
 * (guard.c), so that both agree on who "one client" is.
 */
#include "client_key.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void gw_client_key_v6(const unsigned char a[16], unsigned char key[GW_CLIENT_KEY_BYTES])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(key, a, 16);
    if (memcmp(a, mapped, sizeof(mapped)) != 0)
        memset(key + 8, 0, 8);
}

void gw_client_key_v4(const void *a4, unsigned char key[GW_CLIENT_KEY_BYTES])
{
    memset(key, 0, 10);
    key[10] = key[11] = 0xff;
    memcpy(key + 12, a4, 4);
}

int gw_client_key_from_sockaddr(const struct sockaddr *sa, unsigned char key[GW_CLIENT_KEY_BYTES])
{
    memset(key, 0, GW_CLIENT_KEY_BYTES);
    if (sa != NULL && sa->sa_family == AF_INET) {
        gw_client_key_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, key);
        return 0;
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        gw_client_key_v6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr, key);
        return 0;
    }
    return -1;
}

int gw_client_key_from_header(const char *h, unsigned char key[GW_CLIENT_KEY_BYTES])
{
    char text[INET6_ADDRSTRLEN + 4];
    unsigned char a[16];
    const char *p = strrchr(h, ',');
    size_t n;

    p = p != NULL ? p + 1 : h;
    while (*p == ' ' || *p == '\t')
        p++;
    n = strcspn(p, " \t");
    if (n > 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, p, n);
    text[n] = '\0';
    if (inet_pton(AF_INET, text, a) == 1)
        gw_client_key_v4(a, key);
    else if (inet_pton(AF_INET6, text, a) == 1)
        gw_client_key_v6(a, key);
    else
        return -1;
    return 0;
}
