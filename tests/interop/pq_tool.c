/* tests/interop/pq_tool.c: a stand-alone `tarn parquet` (pq_tool_main) for
 * tests and for looking at files until the command line wires it in. */
#include "parquet/tool.h"

int main(int argc, char **argv)
{
    return pq_tool_main(argc, argv, stdout, stderr);
}
