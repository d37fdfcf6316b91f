"""Writers of the files pipfence exports: pure, data in and text out (no I/O)."""
