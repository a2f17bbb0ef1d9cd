"""Load strata's OpenLineage events with the openlineage-python client's model classes.

Usage: python openlineage_check.py EVENT_DIR

Every event file is turned into `RunEvent` and its facets into the client's facet classes (their
attrs validators check run ids are UUIDs, times are ISO 8601 with a time, facet fields have their
types); an unknown facet name or a missing required field fails. Each event is then serialized
back with the client's `Serde` and must equal the file (apart from fields the client fills in).
Prints a JSON summary for the calling test: per event file its type, job, run id, the output's
row count, column lineage and assertions.
"""

import json
import os
import sys

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset as cl,
    data_quality_assertions_dataset as dq,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde


def strip(d):
    return {k: v for k, v in d.items() if k not in ("_producer", "_schemaURL")}


def schema(d):
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(**f) for f in d["fields"]]
    )


def lineage(d):
    fields = {}
    for name, f in d["fields"].items():
        inputs = [
            cl.InputField(
                namespace=i["namespace"],
                name=i["name"],
                field=i["field"],
                transformations=[cl.Transformation(**t) for t in i["transformations"]],
            )
            for i in f["inputFields"]
        ]
        fields[name] = cl.Fields(inputFields=inputs)
    return cl.ColumnLineageDatasetFacet(fields=fields)


def assertions(d):
    return dq.DataQualityAssertionsDatasetFacet(
        assertions=[dq.Assertion(**a) for a in d["assertions"]]
    )


DATASET_FACETS = {"schema": schema, "columnLineage": lineage}
INPUT_FACETS = {"dataQualityAssertions": assertions}
OUTPUT_FACETS = {
    "outputStatistics": lambda d: output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(**strip(d))
}
JOB_FACETS = {
    "sql": lambda d: sql_job.SQLJobFacet(**strip(d)),
    "jobType": lambda d: job_type_job.JobTypeJobFacet(**strip(d)),
}
RUN_FACETS = {
    "nominalTime": lambda d: nominal_time_run.NominalTimeRunFacet(**strip(d)),
    "errorMessage": lambda d: error_message_run.ErrorMessageRunFacet(**strip(d)),
    "parent": lambda d: parent_run.ParentRunFacet(
        run=parent_run.Run(**d["run"]), job=parent_run.Job(**d["job"])
    ),
}


def facets(d, known, where):
    out = {}
    for name, body in (d or {}).items():
        if name not in known:
            raise SystemExit(f"{where}: unknown facet {name}")
        out[name] = known[name](body)
    return out


def load(path):
    with open(path) as f:
        raw = json.load(f)
    event = RunEvent(
        eventType=RunState(raw["eventType"]),
        eventTime=raw["eventTime"],
        run=Run(runId=raw["run"]["runId"], facets=facets(raw["run"].get("facets"), RUN_FACETS, path)),
        job=Job(
            namespace=raw["job"]["namespace"],
            name=raw["job"]["name"],
            facets=facets(raw["job"].get("facets"), JOB_FACETS, path),
        ),
        inputs=[
            InputDataset(
                namespace=i["namespace"],
                name=i["name"],
                facets=facets(i.get("facets"), DATASET_FACETS, path),
                inputFacets=facets(i.get("inputFacets"), INPUT_FACETS, path),
            )
            for i in raw["inputs"]
        ],
        outputs=[
            OutputDataset(
                namespace=o["namespace"],
                name=o["name"],
                facets=facets(o.get("facets"), DATASET_FACETS, path),
                outputFacets=facets(o.get("outputFacets"), OUTPUT_FACETS, path),
            )
            for o in raw["outputs"]
        ],
        producer=raw["producer"],
    )
    # Every facet names its producer and the spec version of its schema.
    def facets_of(node):
        if isinstance(node, dict):
            if "_producer" in node or "_schemaURL" in node:
                if node.get("_producer") != raw["producer"] or "openlineage.io/spec/facets/" not in node.get("_schemaURL", ""):
                    raise SystemExit(f"{path}: a facet without its producer or schema URL: {node}")
            for x in node.values():
                facets_of(x)
        elif isinstance(node, list):
            for x in node:
                facets_of(x)

    facets_of({k: raw[k] for k in ("run", "job", "inputs", "outputs")})
    # Serialized back by the client, the event must say what the file says.
    back = Serde.to_dict(event)
    for key in ("eventType", "eventTime", "run", "job", "inputs", "outputs", "producer"):
        want = raw[key]
        got = back.get(key, [] if key in ("inputs", "outputs") else None)
        if normalize(got) != normalize(want):
            raise SystemExit(f"{path}: {key} differs after loading:\n{got}\n!=\n{want}")
    return raw, event


def normalize(v):
    """Drop the bookkeeping fields the client sets itself (facets' producer and schema URL)."""
    if isinstance(v, dict):
        return {
            k: normalize(x)
            for k, x in v.items()
            if k not in ("_schemaURL", "_producer") and x not in ([], {}, None)
        }
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return v


def main():
    d = sys.argv[1]
    summary = []
    for name in sorted(os.listdir(d)):
        raw, event = load(os.path.join(d, name))
        out = raw["outputs"][0] if raw["outputs"] else {}
        summary.append(
            {
                "file": name,
                "type": event.eventType.value,
                "job": event.job.name,
                "run_id": event.run.runId,
                "parent_run_id": raw["run"]["facets"].get("parent", {}).get("run", {}).get("runId"),
                "inputs": sorted(i["name"].rsplit("/", 1)[-1] for i in raw["inputs"]),
                "rows": out.get("outputFacets", {}).get("outputStatistics", {}).get("rowCount"),
                "lineage": {
                    col: sorted(
                        f"{i['name'].rsplit('/', 1)[-1]}.{i['field']} {i['transformations'][0]['subtype']}"
                        for i in f["inputFields"]
                    )
                    for col, f in out.get("facets", {}).get("columnLineage", {}).get("fields", {}).items()
                },
                "assertions": [
                    [a["assertion"], a["success"]]
                    for i in raw["inputs"]
                    for a in i.get("inputFacets", {}).get("dataQualityAssertions", {}).get("assertions", [])
                ],
                "error": raw["run"]["facets"].get("errorMessage", {}).get("message"),
            }
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
