/*
 * client_key.h - who a client is, for sce-gateway's per-client limits (the
 * rate limiter in rate_limit.c, the connection caps in guard.c): a 16-byte key
 * made from an address.
 *
 * IPv4 becomes its IPv4-mapped IPv6 address; any other IPv6 address is cut
 * to its /64, the block one subscriber usually gets whole, so that hopping
 * between the addresses of one's own /64 buys neither more runs nor more
 * connections.  The key is an opaque 16 bytes to compare with memcmp; it
 * is not an address to print (the /64's low half is zero).
 *
 * Pure functions, no allocation, no lookups: they never resolve a name and
 * never trust more than they are given.
 */
#ifndef SCE_GATEWAY_CLIENT_KEY_H
#define SCE_GATEWAY_CLIENT_KEY_H

#include <sys/socket.h>

#define GW_CLIENT_KEY_BYTES 16

/* The key of an IPv4 address (4 bytes, network order). */
void gw_client_key_v4(const void *addr4, unsigned char key[GW_CLIENT_KEY_BYTES]);

/* The key of an IPv6 address (16 bytes): its /64, or the whole address
 * when it is IPv4-mapped (::ffff:a.b.c.d, which is then the same client as
 * a.b.c.d over IPv4). */
void gw_client_key_v6(const unsigned char addr6[16], unsigned char key[GW_CLIENT_KEY_BYTES]);

/* The key of a socket address (AF_INET or AF_INET6).  Returns 0; -1 for
 * NULL or another family, with the all-zero key, which all such clients
 * share. */
int gw_client_key_from_sockaddr(const struct sockaddr *sa, unsigned char key[GW_CLIENT_KEY_BYTES]);

/* The key of the rightmost entry of a header such as X-Forwarded-For (the
 * one the trusted proxy added): an IPv4 or IPv6 address, blanks around it
 * and brackets ("[2001:db8::1]") allowed.  Returns 0; -1 if that entry is
 * not an address, with *key unchanged. */
int gw_client_key_from_header(const char *value, unsigned char key[GW_CLIENT_KEY_BYTES]);

#endif
