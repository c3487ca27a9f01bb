//! Assembler (objdump syntax).
