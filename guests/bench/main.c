int main(unsigned long h, unsigned long d){return 0;}
