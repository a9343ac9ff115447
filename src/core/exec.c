#include "core_int.h"
void corio__exec_shutdown(struct corio__rt *rt) { (void)rt; }
