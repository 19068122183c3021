"""AWS connector: read-only live collection through boto3 and the transforms from raw API shapes.

`get_*` functions make API calls and return raw dicts; `transform_*` functions are pure and turn raw
dicts (live responses or AWS CLI exports) into inventory records. Only `live.py` imports boto3.
"""
