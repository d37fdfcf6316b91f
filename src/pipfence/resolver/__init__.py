"""resolver layer."""
