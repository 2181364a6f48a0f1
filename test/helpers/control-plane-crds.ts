// The CustomResourceDefinitions the e2e suite installs: the upstream Dask and Kubeflow CRDs from
// ../shared/crds beside the clone when that folder exists, else kubesub's own minimal fixtures.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiException, ApiextensionsV1Api, type KubeConfig, loadAllYaml, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import type { InstalledCrds } from "./control-plane.ts";
import { kubeRequest } from "./control-plane-kube.ts";
import { waitUntil } from "./control-plane-processes.ts";

/** The upstream copies (see their SOURCE.md files): dask/*.yaml and kubeflow/notebooks.yaml. */
const sharedDir = fileURLToPath(new URL("../../../shared/crds/", import.meta.url));
const fixturesDir = fileURLToPath(new URL("../fixtures/crds/", import.meta.url));

/**
 * The CRD files to install. KUBESUB_E2E_CRDS=fixtures forces the project's fixtures (to check them),
 * =shared requires the upstream copies.
 */
export function crdFiles(choice = process.env.KUBESUB_E2E_CRDS): { origin: string; files: string[] } {
  const yamlIn = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => join(dir, f));
  const useShared = choice === "shared" || (choice !== "fixtures" && existsSync(sharedDir));
  if (useShared) {
    if (!existsSync(sharedDir)) throw new Error(`KUBESUB_E2E_CRDS=shared, but ${sharedDir} does not exist`);
    return { origin: sharedDir, files: [...yamlIn(join(sharedDir, "dask")), join(sharedDir, "kubeflow", "notebooks.yaml")] };
  }
  return { origin: fixturesDir, files: yamlIn(fixturesDir) };
}

/**
 * Creates each CRD (one that exists already is left as it is: on an existing cluster it may be
 * the operator's own), then waits until every one is Established and every served version lists
 * the resource in discovery, which is when list and watch calls on it succeed.
 */
export async function installCrds(kubeConfig: KubeConfig, choice?: string, timeoutMs = 60_000): Promise<InstalledCrds> {
  const { origin, files } = crdFiles(choice);
  const crds = files.flatMap((file) => loadAllYaml(readFileSync(file, "utf8")) as V1CustomResourceDefinition[]);
  const { resources } = await installCrdObjects(kubeConfig, crds, timeoutMs);
  return { origin, resources };
}

/**
 * installCrds for given objects (anything but a CustomResourceDefinition is skipped); also returns
 * the names of the CRDs it created, which were not there before.
 */
export async function installCrdObjects(
  kubeConfig: KubeConfig,
  objects: V1CustomResourceDefinition[],
  timeoutMs = 60_000,
): Promise<{ resources: InstalledCrds["resources"]; created: string[] }> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crds = objects.filter((crd) => crd?.kind === "CustomResourceDefinition");
  const created: string[] = [];
  for (const crd of crds) {
    try {
      await api.createCustomResourceDefinition({ body: crd });
      created.push(crd.metadata?.name ?? "");
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    }
  }
  const resources: InstalledCrds["resources"] = [];
  for (const crd of crds) {
    const name = crd.metadata?.name ?? "";
    await waitUntil(
      `CRD ${name} Established`,
      async () => {
        const current = await api.readCustomResourceDefinition({ name });
        return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
      },
      { timeoutMs },
    );
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      const path = `/apis/${crd.spec.group}/${version.name}`;
      await waitUntil(
        `${crd.spec.names.plural}.${crd.spec.group}/${version.name} in discovery`,
        async () => {
          const response = await kubeRequest(kubeConfig, path);
          if (response.status !== 200) return false;
          const list = JSON.parse(response.body) as { resources?: { name: string }[] };
          return list.resources?.some((r) => r.name === crd.spec.names.plural) ?? false;
        },
        { timeoutMs },
      );
    }
    const storage = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
    resources.push({ group: crd.spec.group, version: storage?.name ?? "", plural: crd.spec.names.plural, kind: crd.spec.names.kind });
  }
  return { resources, created };
}
