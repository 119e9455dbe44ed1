/* tlscert.c — test certificates made with OpenSSL's API (see tlscert.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "support/tlscert.h"

struct tlscert_ca {
    EVP_PKEY *key;
    X509 *cert;
    char file[512];
};

static EVP_PKEY *tlscert_key(void)
{
    return EVP_EC_gen("P-256");
}

static int tlscert_ext(X509 *issuer, X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A certificate for `cn` and `key`, issued by `issuer` (NULL: itself). */
static X509 *tlscert_x509(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
                          EVP_PKEY *issuer_key, int is_ca)
{
    X509 *x = X509_new();
    X509_NAME *name;
    char san[300];

    if (x == NULL)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    snprintf(san, sizeof san, "DNS:%s,IP:127.0.0.1", cn);
    if ((is_ca ? tlscert_ext(issuer != NULL ? issuer : x, x, NID_basic_constraints,
                             "critical,CA:TRUE")
               : tlscert_ext(issuer != NULL ? issuer : x, x, NID_subject_alt_name, san)) != 0 ||
        X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) == 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int tlscert_write(const char *path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = cert != NULL ? PEM_write_X509(f, cert)
                      : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

struct tlscert_ca *tlscert_ca_new(const char *dir, const char *name, const char *cn)
{
    struct tlscert_ca *ca = calloc(1, sizeof *ca);

    if (ca == NULL)
        return NULL;
    snprintf(ca->file, sizeof ca->file, "%s/%s-ca.pem", dir, name);
    ca->key = tlscert_key();
    ca->cert = ca->key != NULL ? tlscert_x509(cn, 1, ca->key, NULL, NULL, 1) : NULL;
    if (ca->cert == NULL || tlscert_write(ca->file, ca->cert, NULL) != 0) {
        tlscert_ca_free(ca);
        return NULL;
    }
    return ca;
}

const char *tlscert_ca_file(const struct tlscert_ca *ca)
{
    return ca->file;
}

void tlscert_ca_free(struct tlscert_ca *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

int tlscert_make(struct tlscert_ca *ca, const char *dir, const char *name, const char *cn,
                 long serial, char *cert, char *key, size_t cap)
{
    EVP_PKEY *k = tlscert_key();
    X509 *x = k != NULL ? tlscert_x509(cn, serial, k, ca != NULL ? ca->cert : NULL,
                                       ca != NULL ? ca->key : NULL, 0)
                        : NULL;
    int rc = -1;

    snprintf(cert, cap, "%s/%s.pem", dir, name);
    snprintf(key, cap, "%s/%s.key", dir, name);
    if (x != NULL && tlscert_write(cert, x, NULL) == 0 && tlscert_write(key, NULL, k) == 0)
        rc = 0;
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}
