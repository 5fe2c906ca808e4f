#include <cstdio>
int main() { std::puts("earshot: under construction"); return 0; }
