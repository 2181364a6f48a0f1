import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Identity, Rejection } from "./identity.ts";

/** --auth proxy-header: who the authenticating proxy in front says the caller is, and how it proves itself. */
export interface ProxyHeaderSettings {
  /** The header naming the user (--proxy-user-header): Kubeflow's gateway sets kubeflow-userid. */
  userHeader: string;
  /** The header listing the groups, comma-separated or repeated (--proxy-groups-header); "" for none. */
  groupsHeader: string;
  /** The header carrying the proxy's shared secret (--proxy-secret-header). */
  secretHeader: string;
  /** The shared secret itself (read from --proxy-secret-file). */
  secret: string;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Whether `offered` is the secret, compared in constant time (over digests, so that lengths do not tell either). */
export function secretMatches(offered: string, secret: string): boolean {
  return timingSafeEqual(digest(offered), digest(secret));
}

/**
 * The identity the proxy's headers name, trusted only when the request carries the proxy's secret:
 * without it (or with a wrong one), the user header is ignored and the request refused, so that
 * a client that reaches kubesub past the proxy cannot name itself. A header sent twice is refused:
 * Node would join the values, and which one the proxy meant is unknowable.
 */
export function proxyIdentity(request: Pick<IncomingMessage, "headersDistinct">, settings: ProxyHeaderSettings): Identity | Rejection {
  const headers = request.headersDistinct;
  const secret = headers[settings.secretHeader.toLowerCase()];
  if (secret?.length !== 1 || !secretMatches(secret[0] ?? "", settings.secret)) {
    return { rejected: "requests must come through the authenticating proxy, which proves itself to kubesub" };
  }
  const user = headers[settings.userHeader.toLowerCase()];
  const username = user?.length === 1 ? (user[0] ?? "").trim() : "";
  if (username === "") return { rejected: `the authenticating proxy named no user (header ${settings.userHeader})` };
  const groups =
    settings.groupsHeader === ""
      ? []
      : (headers[settings.groupsHeader.toLowerCase()] ?? []).flatMap((value) =>
          value
            .split(",")
            .map((g) => g.trim())
            .filter((g) => g !== ""),
        );
  return { username, uid: "", groups, extra: {} };
}
