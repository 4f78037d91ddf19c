// libcurl for swift-rq's webhooks (Debian's libcurl4-openssl-dev). Only Sources/RQ/Support/HTTPClient.swift imports
// this module. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: typed functions here.
#ifndef RQ_CCURL_SHIM_H
#define RQ_CCURL_SHIM_H

#include <curl/curl.h>

static inline CURLcode rq_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode rq_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode rq_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline size_t rq_curl_discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

/// Response bodies are not needed (RQ reads none): they are dropped as they arrive.
static inline CURLcode rq_curl_discard_body(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, rq_curl_discard);
}

static inline CURLcode rq_curl_response_code(CURL *handle, long *code) {
    return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}

#endif
