/*
 * hv.c - the paravirtual build's hypercall layer (see hv.h): compiled with
 * PARAVIRT, it instantiates the operations out of line, one function
 * each.  In the native build it only holds the counters.
 */
#ifdef PARAVIRT
#define HV_IMPL
#endif
#include "hv.h"

struct hv_counts hv_counts;
