"""The declarative rule language: a lark grammar, compiled once into Python closures."""
