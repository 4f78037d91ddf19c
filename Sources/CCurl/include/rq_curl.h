// libcurl for swift-rq's webhooks, loaded when the first webhook is sent (dlopen of libcurl.so.4), not linked: a
// runner linked against libcurl loads some thirty more shared libraries at every start, and a horse is a start
// per job (the horse-per-job rate fell by more than half). Only Sources/RQ/Support/HTTPClient.swift uses this
// module. The header needs Debian's libcurl4-openssl-dev to build; sending needs libcurl4 where the worker runs.
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: typed functions here.
#ifndef RQ_CURL_H
#define RQ_CURL_H

#include <curl/curl.h>

/// Loads libcurl and runs its global set-up, once per process (thread-safe); NULL when it is ready, else why not.
const char *rq_curl_load(void);

CURL *rq_curl_easy_init(void);
void rq_curl_easy_cleanup(CURL *handle);
CURLcode rq_curl_easy_perform(CURL *handle);
const char *rq_curl_easy_strerror(CURLcode code);
struct curl_slist *rq_curl_slist_append(struct curl_slist *list, const char *line);
void rq_curl_slist_free_all(struct curl_slist *list);

CURLcode rq_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode rq_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode rq_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
/// Response bodies are not needed (RQ reads none): they are dropped as they arrive.
CURLcode rq_curl_discard_body(CURL *handle);
CURLcode rq_curl_response_code(CURL *handle, long *code);

#endif
