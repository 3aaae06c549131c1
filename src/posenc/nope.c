/* nope: no positional encoding; the causal mask is the only source of order. */
#include "scheme.h"

const PeScheme pe_scheme_nope = {0};
