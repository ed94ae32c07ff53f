"""Catalog, title index, datasets, transcription, embeddings and the vector store.

Imports nothing else of ours. Heavy libraries (torch, chromadb, faster_whisper)
are imported only inside the functions that use them.
"""
