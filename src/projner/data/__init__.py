"""Data: tagging schemes, readers and writers, label maps, normalisation."""
