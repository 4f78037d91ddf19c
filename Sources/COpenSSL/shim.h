// OpenSSL for swift-rq's TLS connections (Debian's libssl-dev, OpenSSL 3). Only Sources/RQ/Redis/TLS.swift imports
// this module. OpenSSL spells several calls as macros, which Swift cannot import: they are functions here.
#ifndef RQ_COPENSSL_SHIM_H
#define RQ_COPENSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline int rq_openssl_init_without_atexit(void) {
    // OpenSSL frees its global state in an atexit handler by default; a connection thread still in a handshake or
    // a read when the process exits would then use freed memory. The process's exit reclaims it anyway.
    return OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
                            NULL);
}

static inline long rq_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static inline long rq_ssl_ctx_set_modes(SSL_CTX *context) {
    // Partial writes, and a retried write may pass a buffer that moved (the connection's outgoing bytes grow).
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static inline int rq_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

#endif
