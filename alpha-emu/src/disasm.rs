//! Disassembler (objdump syntax).
