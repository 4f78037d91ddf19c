// See include/rq_curl.h: libcurl's functions, looked up once with dlopen/dlsym.
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include "rq_curl.h"

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *problem = "libcurl was not loaded";
static char message[512];

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(message, sizeof message, "libcurl (libcurl4) cannot be loaded: %s", reason ? reason : "not found");
        problem = message;
        return;
    }
#define FIND(field, name)                                                                                            \
    do {                                                                                                             \
        *(void **)(&curl.field) = dlsym(library, name);                                                              \
        if (!curl.field) {                                                                                           \
            snprintf(message, sizeof message, "libcurl has no %s", name);                                             \
            problem = message;                                                                                       \
            return;                                                                                                  \
        }                                                                                                            \
    } while (0)
    FIND(global_init, "curl_global_init");
    FIND(easy_init, "curl_easy_init");
    FIND(easy_cleanup, "curl_easy_cleanup");
    FIND(easy_perform, "curl_easy_perform");
    FIND(easy_strerror, "curl_easy_strerror");
    FIND(easy_setopt, "curl_easy_setopt");
    FIND(easy_getinfo, "curl_easy_getinfo");
    FIND(slist_append, "curl_slist_append");
    FIND(slist_free_all, "curl_slist_free_all");
#undef FIND
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        problem = "curl_global_init failed";
        return;
    }
    problem = NULL;
}

const char *rq_curl_load(void) {
    pthread_once(&once, load);
    return problem;
}

CURL *rq_curl_easy_init(void) { return curl.easy_init(); }
void rq_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
CURLcode rq_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *rq_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *rq_curl_slist_append(struct curl_slist *list, const char *line) {
    return curl.slist_append(list, line);
}
void rq_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

CURLcode rq_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rq_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode rq_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}

static size_t discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

CURLcode rq_curl_discard_body(CURL *handle) { return curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard); }
CURLcode rq_curl_response_code(CURL *handle, long *code) {
    return curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}
