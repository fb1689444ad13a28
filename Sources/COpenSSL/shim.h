// The OpenSSL EVP digest entry points SpQRCore uses for SHA-256, declared here so that the build does not
// depend on OpenSSL's header layout. Symbols come from libcrypto (libssl-dev), which picks the CPU's SHA
// instructions when it has them.
#ifndef SPQR_COPENSSL_SHIM_H
#define SPQR_COPENSSL_SHIM_H

#include <stddef.h>

typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;

EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *in);
const EVP_MD *EVP_sha256(void);
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *data, size_t count);
int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *size);

#endif
