/*
 * tlscert.h — certificates made by the tests themselves (no files in the tree): a CA and
 * server certificates it signs, EC P-256 keys, written as PEM files into a directory.
 * For the TLS unit tests and the test tools' TLS modes; the integration tests use the
 * openssl command for the same.
 */
#ifndef LC_TEST_TLSCERT_H
#define LC_TEST_TLSCERT_H

#include <stddef.h>

struct tlscert_ca;

/* A CA named `cn`, its certificate written to DIR/NAME-ca.pem. NULL on failure. */
struct tlscert_ca *tlscert_ca_new(const char *dir, const char *name, const char *cn);
/* The CA's certificate file (storage of `ca`). */
const char *tlscert_ca_file(const struct tlscert_ca *ca);
void tlscert_ca_free(struct tlscert_ca *ca);

/*
 * A server certificate for CN `cn` (also its subjectAltName, with IP 127.0.0.1) with
 * serial `serial`, signed by `ca` (NULL: self-signed), valid from now for a day: written
 * to DIR/NAME.pem and DIR/NAME.key, whose paths land in `cert` and `key` (cap bytes each).
 * Returns 0, or -1.
 */
int tlscert_make(struct tlscert_ca *ca, const char *dir, const char *name, const char *cn,
                 long serial, char *cert, char *key, size_t cap);

#endif
