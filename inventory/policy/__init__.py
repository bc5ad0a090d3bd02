"""Pure inventory policies: plain functions over small values, no database."""
