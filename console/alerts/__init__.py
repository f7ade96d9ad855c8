"""The alert engine: pure logic, no I/O, no Textual."""
