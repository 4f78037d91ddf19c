// Header-only shims; see include/rq_shims.h.
