// zlib, for replaying gzipped rotated logs (access.log.2.gz).
#include <zlib.h>
